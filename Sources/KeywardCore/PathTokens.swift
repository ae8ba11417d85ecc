/// sshd's path tokens in `AuthorizedKeysFile` and keyward's target paths: `%u` (user), `%U`
/// (numeric uid), `%h` (home) and `%%`. The one token scanner behind `TargetID.absolutePath`,
/// `SSHDSettings.expand` and `SSHDModel.targetPath`; `substitute` also scans ssh_config's
/// tokens for the SSH transport.
public enum PathTokens {
  /// Expands the tokens; an unknown token, or `%U` without a uid, stays as written. A relative
  /// result is taken from `home`, as sshd does.
  static func expand(_ pattern: String, user: String, home: String, uid: UInt32? = nil) -> String {
    let out = substitute(pattern) { token in
      switch token {
      case "u": user
      case "h": home
      case "U": uid.map(String.init)
      case "%": "%"
      default: nil
      }
    }
    return out.hasPrefix("/") ? out : (home == "/" ? "" : home) + "/" + out
  }

  /// Replaces each `%X` with `replacement(X)`, or keeps `%X` as written when it returns nil; a
  /// lone trailing `%` is kept.
  public static func substitute(_ pattern: String, _ replacement: (Character) -> String?) -> String {
    var out = ""
    var percent = false
    for ch in pattern {
      if percent {
        out += replacement(ch) ?? "%" + String(ch)
        percent = false
      } else if ch == "%" {
        percent = true
      } else {
        out.append(ch)
      }
    }
    if percent { out += "%" }
    return out
  }
}

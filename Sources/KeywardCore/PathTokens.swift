/// sshd's path tokens in `AuthorizedKeysFile` and keyward's target paths: `%u` (user), `%U`
/// (numeric uid), `%h` (home) and `%%`. The one expander behind `TargetID.absolutePath` and
/// `SSHDSettings.expand`.
enum PathTokens {
  /// Expands the tokens; an unknown token, or `%U` without a uid, stays as written. A relative
  /// result is taken from `home`, as sshd does.
  static func expand(_ pattern: String, user: String, home: String, uid: UInt32? = nil) -> String {
    var out = ""
    var percent = false
    for ch in pattern {
      if percent {
        switch ch {
        case "u": out += user
        case "h": out += home
        case "U": out += uid.map(String.init) ?? "%U"
        case "%": out += "%"
        default: out += "%" + String(ch)
        }
        percent = false
      } else if ch == "%" {
        percent = true
      } else {
        out.append(ch)
      }
    }
    if percent { out += "%" }
    return out.hasPrefix("/") ? out : (home == "/" ? "" : home) + "/" + out
  }
}

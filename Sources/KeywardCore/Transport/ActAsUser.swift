import Foundation

/// How root starts an SFTP server with a target user's own rights on a host: the host's
/// `sftp-server` under `setpriv --reuid --regid --init-groups`, from probed absolute paths and
/// numeric ids only. The one probe and command behind both SSH transports (libssh2 runs it in
/// an exec channel, the OpenSSH client over its master).
public enum ActAsUser {
  /// The programs needed: absolute paths, or nil when missing.
  public struct Helpers: Sendable, Equatable {
    public var sftpServer: String?
    public var setpriv: String?

    public init(sftpServer: String? = nil, setpriv: String? = nil) {
      self.sftpServer = sftpServer
      self.setpriv = setpriv
    }
  }

  /// What is missing to act as a user.
  public enum Missing: Error, Equatable {
    case sftpServer, setpriv

    /// The refusal a transport reports for `user` on `host` (code `cannot-act-as-user`).
    public func refusal(host: String, user: String) -> TransportError {
      let message =
        switch self {
        case .sftpServer:
          "'\(host)' has no sftp-server in \(ActAsUser.sftpServerPaths.joined(separator: ", ")); keyward will not"
            + " touch '\(user)''s files as root: install openssh-sftp-server or connect as the user"
        case .setpriv:
          "'\(host)' has no setpriv (util-linux), so keyward cannot act with the rights of '\(user)';"
            + " it will not touch that user's files as root: install util-linux or connect as the user"
        }
      return TransportError(code: .cannotActAsUser, host: host, step: .connect, message: message)
    }
  }

  /// Where sftp-server lives on common systems (Debian, Red Hat, others).
  public static let sftpServerPaths = [
    "/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server",
  ]

  /// The shell snippet that finds the helpers; its output is read by `parse`.
  public static let probeScript =
    "for p in \(sftpServerPaths.joined(separator: " ")); do if [ -x \"$p\" ]; then echo \"keyward-sftp-server $p\";"
    + " break; fi; done; p=$(command -v setpriv) && echo \"keyward-setpriv $p\"; true"

  /// Reads the probe's lines; only absolute paths of safe characters are accepted.
  public static func parse(_ output: String) -> Helpers {
    var helpers = Helpers()
    for line in output.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
      guard parts.count == 2, isSafePath(parts[1]) else { continue }
      if parts[0] == "keyward-sftp-server" { helpers.sftpServer = parts[1] }
      if parts[0] == "keyward-setpriv" { helpers.setpriv = parts[1] }
    }
    return helpers
  }

  /// `'/usr/bin/setpriv' --reuid=UID --regid=GID --init-groups -- '/usr/lib/openssh/sftp-server'`.
  public static func command(uid: UInt32, gid: UInt32, helpers: Helpers) -> Result<String, Missing> {
    guard let server = helpers.sftpServer else {
      return .failure(.sftpServer)
    }
    guard let setpriv = helpers.setpriv else { return .failure(.setpriv) }
    return .success("\(quote(setpriv)) --reuid=\(uid) --regid=\(gid) --init-groups -- \(quote(server))")
  }

  public static func isSafePath(_ path: String) -> Bool {
    path.hasPrefix("/") && !path.contains("..")
      && path.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+".contains($0)) }
  }

  public static func isValidUserName(_ user: String) -> Bool {
    guard let first = user.first, first != "-" else { return false }
    return user.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-$".contains($0)) }
  }

  /// Single-quotes a word for the remote shell.
  public static func quote(_ word: String) -> String {
    "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}

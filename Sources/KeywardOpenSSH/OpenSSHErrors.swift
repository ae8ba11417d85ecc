import KeywardCore
import SFTP

/// Every `TransportError` this module makes, in one place: what failed on which host, at which
/// step, with ssh's own words (sanitised) where it said something.
enum OpenSSHErrors {
  /// Errors that concern one target only: the master stays usable for the others.
  static func keepsMaster(_ error: TransportError) -> Bool { error.code.keepsSession }

  /// ssh's stderr as a clause for a message: control characters replaced, bounded.
  static func said(_ stderr: String) -> String {
    let text = SFTPError.sanitize(stderr, limit: 400)
    return text.isEmpty ? "" : " (ssh said: \(text))"
  }

  static func noClient(_ host: String) -> TransportError {
    TransportError(
      code: .connectFailed, host: host, step: .connect,
      message:
        "the OpenSSH client ('/usr/bin/ssh') is not installed: install openssh-client or use --transport libssh2"
    )
  }

  static func runtimeDirectory(_ host: String, _ reason: String) -> TransportError {
    TransportError(
      code: .connectFailed, host: host, step: .connect,
      message: "cannot create a private directory for ssh's control sockets: \(reason)")
  }

  static func spawn(_ host: String, step: TransportError.Step, _ error: StreamError) -> TransportError {
    TransportError(
      code: .connectFailed, host: host, step: step, message: "cannot start ssh: \(error.message)")
  }

  static func askpassListen(_ host: String, _ reason: String) -> TransportError {
    TransportError(
      code: .connectFailed, host: host, step: .connect,
      message: "cannot listen for ssh's passphrase requests in keyward's private directory: \(reason)")
  }

  /// The master exited before its control socket appeared: ssh's last words decide the code.
  /// `undecryptedKeys`: key files whose passphrase ssh asked for again (the one given did not
  /// decrypt them); they are named, the passphrase never is.
  static func masterFailed(_ host: String, user: String, stderr: String, undecryptedKeys: [String] = [])
    -> TransportError
  {
    let lower = stderr.lowercased()
    let code: TransportError.Code
    let step: TransportError.Step
    if lower.contains("remote host identification has changed")
      || lower.contains("host key for")
        && lower.contains("has changed")
    {
      (code, step) = (.hostKeyChanged, .hostkey)
    } else if lower.contains("revoked host key") {
      (code, step) = (.hostKeyRevoked, .hostkey)
    } else if lower.contains("host key verification failed")
      || lower.contains("no ") && lower.contains("host key is known")
    {
      (code, step) = (.hostKeyUnknown, .hostkey)
    } else if lower.contains("permission denied") {
      (code, step) = (.authFailed, .auth)
    } else if lower.contains("timed out") || lower.contains("connection refused")
      || lower.contains("no route")
      || lower.contains("could not resolve")
    {
      (code, step) = (.unreachable, .connect)
    } else {
      (code, step) = (.connectFailed, .connect)
    }
    var message =
      "ssh could not log in as '\(user)'"
      + (stderr.isEmpty ? " (it said nothing)" : ": \(SFTPError.sanitize(stderr, limit: 400))")
    if !undecryptedKeys.isEmpty {
      let files = undecryptedKeys.map { "'\(SFTPError.sanitize($0))'" }.joined(separator: ", ")
      message +=
        "; the passphrase given for the key file \(files) does not decrypt it"
        + " (check KEYWARD_SSH_PASSPHRASE, or what was typed)"
    }
    return TransportError(code: code, host: host, step: step, message: message)
  }

  /// A jump chain keyward refuses before starting `ssh` (a loop).
  static func jump(_ host: String, _ problem: String) -> TransportError {
    TransportError(code: .jumpFailed, host: host, step: .connect, message: problem)
  }

  /// A jump host's `ssh` (the master's ProxyCommand) failed: what it said decides the code, as
  /// for the master itself; the message names the route, as on libssh2's path.
  static func viaJump(_ host: String, _ jump: String, stderr: String) -> TransportError {
    let classified = masterFailed(host, user: "", stderr: stderr)
    return TransportError(
      code: classified.code, host: host, step: classified.step,
      message: "via jump host '\(jump)': its ssh said: \(SFTPError.sanitize(stderr, limit: 400))")
  }

  static func masterTimeout(_ host: String, _ limit: Duration, stderr: String) -> TransportError {
    TransportError(
      code: .deadlineExceeded, host: host, step: .connect,
      message:
        "ssh did not finish logging in within \(limit); the host is too slow or ssh is stuck (it was stopped)"
        + said(stderr))
  }

  static func masterLost(_ host: String) -> TransportError {
    TransportError(
      code: .sessionLost, host: host, step: .connect,
      message: "the ssh master connection to '\(host)' ended during the run; run again")
  }

  static func exec(_ host: String, step: TransportError.Step, command: String, status: Int32, stderr: String)
    -> TransportError
  {
    let code: TransportError.Code = status == 255 ? .sessionLost : .execFailed
    return TransportError(
      code: code, host: host, step: step,
      message: "'\(SFTPError.sanitize(command, limit: 60))' failed with status \(status)" + said(stderr))
  }

  static func stream(_ host: String, step: TransportError.Step, _ error: StreamError) -> TransportError {
    TransportError(
      code: error.timedOut ? .deadlineExceeded : .sessionLost, host: host, step: step,
      message: error.message)
  }

  static func sftpStart(_ host: String, user: String, _ error: SFTPError, stderr: String) -> TransportError {
    TransportError(
      code: error.kind == .timedOut ? .deadlineExceeded : .sftpFailed, host: host, step: .connect,
      message: "could not start sftp as '\(user)' over ssh: \(error.message)" + said(stderr))
  }

  static func sftp(_ host: String, step: TransportError.Step, what: String, _ error: SFTPError)
    -> TransportError
  {
    TransportError(
      code: error.status == .permissionDenied ? .permissionDenied : .sftpFailed, host: host, step: step,
      message: "\(what): \(error.message)")
  }

  static func userUnknown(_ host: String, _ user: String) -> TransportError {
    TransportError(
      code: .userUnknown, host: host, step: .read,
      message:
        "user '\(user)' does not exist on '\(host)' (not in 'getent passwd'); create it or fix the manifest")
  }

  static func homeMissing(_ host: String, _ user: String, _ home: String) -> TransportError {
    TransportError(
      code: .userUnknown, host: host, step: .read,
      message: "the home directory '\(home)' of '\(user)' is missing")
  }

  static func getent(_ host: String, login: String, status: Int32, stderr: String) -> TransportError {
    TransportError(
      code: .getentFailed, host: host, step: .read,
      message:
        "'getent passwd' failed with status \(status) as '\(login)'\(said(stderr));"
        + " connect_as needs a shell account with getent")
  }

  static func loginCheck(_ host: String, _ user: String, stderr: String) -> TransportError {
    TransportError(
      code: .loginCheckFailed, host: host, step: .verify,
      message: "a fresh ssh login as '\(user)' failed after the write" + said(stderr))
  }

  static func deadline(_ host: String, step: TransportError.Step, _ limit: Duration) -> TransportError {
    TransportError(
      code: .deadlineExceeded, host: host, step: step,
      message: "gave up after \(limit) (the per-target deadline); the host is too slow or ssh is stuck")
  }
}

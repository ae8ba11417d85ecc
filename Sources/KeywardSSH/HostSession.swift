import KeywardCore

/// An authenticated session to one host as one login user, with what was learned about the
/// host's accounts. Used by one thread at a time; reused for every target reached through it.
final class HostSession: @unchecked Sendable {
  let session: SSHSession
  let host: String
  let loginUser: String
  /// `SHA256:...` of the key that authenticated, when known.
  let loginKeyFingerprint: String?
  /// Accounts by user name, from `getent passwd` (connect_as) or the login user's home.
  var accounts: [String: Account] = [:]

  /// A user's home directory and ids on the host.
  struct Account: Sendable {
    var home: String
    var uid: UInt32
    var gid: UInt32
  }

  init(session: SSHSession, host: String, loginUser: String, loginKeyFingerprint: String?) {
    self.session = session
    self.host = host
    self.loginUser = loginUser
    self.loginKeyFingerprint = loginKeyFingerprint
  }

  func close() { session.close() }

  /// One SFTP round trip: false (and the session closed) when the server has gone away since
  /// the session was last used.
  func isAlive() -> Bool {
    do {
      _ = try session.realpath(".", step: "connect")
      return true
    } catch {
      session.close()
      return false
    }
  }
}

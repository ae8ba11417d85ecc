import AuthorizedKeys
import KeywardCore

/// Proves after a write that the account still accepts the run's key: a fresh SSH connection
/// (new TCP connection, handshake and public-key authentication) as the target user.
struct LoginVerifier: Sendable {
  let connector: HostConnector

  /// Whether `content` authorizes the key with `fingerprint` (so a login with it must work).
  static func authorizes(_ content: [UInt8], fingerprint: String) -> Bool {
    AuthorizedKeysFile(bytes: content).entries.contains { $0.key.fingerprint == fingerprint }
  }

  /// Logs in to `host` as `user`; nil when that works, else why not.
  func check(host: String, user: String) -> TransportError? {
    do {
      let session = try connector.open(host, user: user)
      session.close()
      return nil
    } catch {
      return error
    }
  }
}

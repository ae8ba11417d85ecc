internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// How one identity file's authentication attempt came out.
enum FileAuthResult {
  case accepted
  /// The key could not be loaded (wrong or missing passphrase, unknown format).
  case unreadable(String)
  /// The server refused the key.
  case rejected(String)
  /// The connection failed meanwhile.
  case failed(String)
}

extension SSHSession {
  /// The authentication methods the server offers for `user`; `nil` when "none" auth succeeded.
  func authMethods(user: String) -> String? {
    guard let list = libssh2_userauth_list(session, user, UInt32(user.utf8.count)) else { return nil }
    return String(cString: list)
  }

  var isAuthenticated: Bool { libssh2_userauth_authenticated(session) == 1 }

  /// Tries the agent's identities: those whose blob is in `preferred` first, then (unless
  /// `onlyPreferred`) the others, at most `limit` in all (sshd's MaxAuthTries cuts the session
  /// after 6 failures). Returns the blob that authenticated, or nil.
  func authenticateWithAgent(
    user: String, socket: String, preferred: [[UInt8]], onlyPreferred: Bool, limit: Int
  ) -> [UInt8]? {
    guard let agent = libssh2_agent_init(session) else { return nil }
    defer { libssh2_agent_free(agent) }
    libssh2_agent_set_identity_path(agent, socket)
    guard libssh2_agent_connect(agent) == 0 else { return nil }
    defer { libssh2_agent_disconnect(agent) }
    guard libssh2_agent_list_identities(agent) == 0 else { return nil }
    var identities: [(UnsafeMutablePointer<libssh2_agent_publickey>, [UInt8])] = []
    var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
    while true {
      var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
      guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { break }
      previous = identity
      identities.append(
        (identity, Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len)))
      )
    }
    let first = identities.filter { preferred.contains($0.1) }
    let rest = onlyPreferred ? [] : identities.filter { !preferred.contains($0.1) }
    for (identity, blob) in (first + rest).prefix(limit)
    where libssh2_agent_userauth(agent, user, identity) == 0 {
      return blob
    }
    return nil
  }

  /// Tries one private key file.
  func authenticateWithFile(user: String, path: String, passphrase: String?) -> FileAuthResult {
    let rc = libssh2_userauth_publickey_fromfile_ex(
      session, user, UInt32(user.utf8.count), nil, path, passphrase)
    if rc == 0 { return .accepted }
    let text = lastError().text
    if rc == LIBSSH2_ERROR_FILE { return .unreadable(text) }
    if rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED {
      return .rejected(text)
    }
    return .failed("\(text) (libssh2 \(rc))")
  }
}

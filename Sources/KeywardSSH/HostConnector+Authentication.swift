import Foundation
import KeywardCore

extension HostConnector {
  /// IdentityAgent: `none` means no agent, `SSH_AUTH_SOCK` (or unset) the environment's agent,
  /// anything else a socket path.
  func agentSocket(_ resolved: ResolvedHost) -> String? {
    guard let agent = resolved.identityAgent, agent != "SSH_AUTH_SOCK" else { return settings.agentSocket }
    if agent == "none" { return nil }
    if agent.hasPrefix("$") { return ProcessInfo.processInfo.environment[String(agent.dropFirst())] }
    return SSHConfigResolver.expand(agent, host: resolved)
  }

  func authenticate(_ session: SSHSession, _ resolved: ResolvedHost, user: String)
    throws(TransportError)
    -> String?
  {
    guard let methods = session.authMethods(user: user) else {
      if session.isAuthenticated { return nil }
      throw session.error(.authFailed, .auth, "could not ask the server for authentication methods")
    }
    let identities = IdentityLoader.load(resolved.identityFiles)
    guard methods.split(separator: ",").contains("publickey") else {
      throw TransportError(
        code: .authFailed, host: resolved.alias, step: .auth,
        message: "the server does not accept public keys for '\(user)' (it offers: \(methods))")
    }
    var tried: [String] = []
    var notes: [String] = []
    if settings.useAgent, let socket = agentSocket(resolved), !socket.isEmpty {
      let blobs = identities.compactMap(\.publicBlob)
      if !(resolved.identitiesOnly && blobs.isEmpty) {
        if let blob = session.authenticateWithAgent(
          user: user, socket: socket, preferred: blobs, onlyPreferred: resolved.identitiesOnly, limit: 4)
        {
          return IdentityLoader.fingerprint(of: blob)
        }
        tried.append("ssh-agent")
      }
    }
    var sawRSA = false
    for identity in identities where identity.hasPrivateKey {
      if let problem = IdentityLoader.unprotected(identity.path) {
        notes.append(problem)
        continue
      }
      if identity.keyType == "ssh-rsa" { sawRSA = true }
      var result = session.authenticateWithFile(user: user, path: identity.path, passphrase: nil)
      if case .unreadable = result, let passphrase = settings.passphrase(for: identity.path) {
        result = session.authenticateWithFile(user: user, path: identity.path, passphrase: passphrase)
      }
      switch result {
      case .accepted:
        return identity.publicBlob.flatMap(IdentityLoader.fingerprint(of:))
      case .unreadable(let text):
        notes.append(
          "'\(identity.path)' could not be loaded (\(text)); set KEYWARD_SSH_PASSPHRASE if it is encrypted")
      case .rejected:
        tried.append("'\(identity.path)'")
      case .failed(let text):
        throw TransportError(
          code: .authFailed, host: resolved.alias, step: .auth,
          message: "authentication as '\(user)' broke off: \(text)")
      }
    }
    var message =
      if !tried.isEmpty {
        "the server refused every key for '\(user)' (tried \(tried.joined(separator: ", ")))"
      } else if !notes.isEmpty {
        "no key could be offered for '\(user)'"
      } else {
        "no identity to offer for '\(user)': none of \(resolved.identityFiles.map { "'\($0)'" }.joined(separator: ", ")) exists; pass --identity FILE"
      }
    if !notes.isEmpty { message += "; " + notes.joined(separator: "; ") }
    if sawRSA {
      message +=
        "; note: libssh2 1.10 signs RSA keys only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later refuse:"
        + " log in with an ed25519 or ecdsa key instead"
    }
    throw TransportError(code: .authFailed, host: resolved.alias, step: .auth, message: message)
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import Synchronization

/// What libssh2 1.10 cannot do, decided from a host's resolved settings before connecting (a
/// failed login would cost one of the host's MaxAuthTries and can trip fail2ban): `auto` sends
/// such hosts to the OpenSSH client.
extension SSHTransport {
  /// User key types libssh2 1.10 signs with as OpenSSH 8.8+ accepts (RSA only with SHA-1).
  static let usableUserKeyTypes: Set<String> = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  ]

  /// Why this host needs the OpenSSH client, or nil when libssh2 can serve it (a host whose
  /// settings cannot even be resolved stays with libssh2, which reports the problem).
  /// The ProxyJump chain ssh_config (or the manifest) gives `alias`, as this transport resolves
  /// it; nil when there is none or the settings cannot be resolved. The OpenSSH transport asks,
  /// so that ssh_config's jump hosts get keyward's options too (as they do here).
  public func configuredJump(for alias: String) -> String? {
    (try? connector.resolve(alias))?.proxyJump
  }

  public func openSSHReason(for alias: String, user: String) -> String? {
    guard let resolved = try? connector.resolve(alias) else { return nil }
    if !resolved.unsupported.isEmpty {
      return "ssh_config sets \(resolved.unsupported.joined(separator: ", ")), which libssh2 cannot honour"
    }
    let identities = IdentityLoader.load(resolved.identityFiles)
    for identity in identities {
      if FileManager.default.fileExists(atPath: identity.path + "-cert.pub") {
        return
          "the identity '\(identity.path)' has a certificate ('\(identity.path)-cert.pub'), which libssh2 1.10 cannot log in with"
      }
      if let type = identity.keyType, let why = Self.unusable(type) {
        return "the identity '\(identity.path)' is \(why)"
      }
    }
    if settings.useAgent, !(resolved.identitiesOnly && !identities.isEmpty),
      let socket = connector.agentSocket(resolved), !socket.isEmpty
    {
      for type in AgentKeys.types(socket: socket) {
        if let why = Self.unusable(type) { return "the agent holds \(why)" }
      }
    }
    let known = connector.knownHosts.knownHosts(resolved.knownHostsFiles)
    let entries = known.entries(for: resolved.knownHostsName)
    let usable = Set(LibSSH2.usableHostKeyTypes)
    let plain = entries.filter { $0.marker == .none }
    if plain.isEmpty && entries.contains(where: { $0.marker == .certAuthority }) {
      return
        "known_hosts knows '\(resolved.knownHostsName)' only through @cert-authority (libssh2 1.10 cannot verify host certificates)"
    }
    if !plain.isEmpty && !plain.contains(where: { usable.contains($0.key.algorithm.plainName) }) {
      return
        "known_hosts lists only host key types libssh2 1.10 cannot negotiate for '\(resolved.knownHostsName)'"
    }
    return nil
  }

  /// Why a user key of `type` cannot log in through libssh2 1.10, or nil.
  static func unusable(_ type: String) -> String? {
    if usableUserKeyTypes.contains(type) { return nil }
    if type == "ssh-rsa" {
      return "an RSA key (libssh2 1.10 signs RSA only with SHA-1, which OpenSSH 8.8+ refuses)"
    }
    if type.hasPrefix("sk-") { return "a FIDO key ('\(type)'), which libssh2 1.10 cannot use" }
    if type.contains("-cert-v01@openssh.com") {
      return "a certificate ('\(type)'), which libssh2 1.10 cannot log in with"
    }
    return "a '\(type)' key, which libssh2 1.10 cannot log in with"
  }
}

/// The key types an ssh-agent holds (`ssh-add -L`), asked once per socket per process.
enum AgentKeys {
  private static let cache = Mutex<[String: [String]]>([:])

  static func types(socket: String) -> [String] {
    if let known = cache.withLock({ $0[socket] }) { return known }
    var types: [String] = []
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-add") {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-add")
      process.arguments = ["-L"]
      process.environment = ["SSH_AUTH_SOCK": socket, "PATH": "/usr/bin:/bin"]
      let out = Pipe()
      process.standardOutput = out
      process.standardError = FileHandle.nullDevice
      process.standardInput = FileHandle.nullDevice
      if (try? process.run()) != nil {
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
          if let type = line.split(separator: " ").first, line.contains(" ") { types.append(String(type)) }
        }
      }
    }
    cache.withLock { $0[socket] = types }
    return types
  }
}

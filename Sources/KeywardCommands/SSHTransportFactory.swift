import KeywardCore
import KeywardSSH
import Synchronization

/// Builds the SSH transport from the command-line options.
///
/// One process makes one transport per host table and options: `apply` plans and then writes
/// through the same transport, so the sessions opened to read the targets are reused to write them.
enum SSHTransportFactory {
  private struct Key: Hashable {
    var hosts: [String: HostSpec]
    var sshConfig: String?
    var identities: [String]
    var knownHosts: String?
    var acceptNewHostKeys: Bool
    var parallelism: Int
    var connectTimeout: Int
  }

  private static let made = Mutex<[Key: SSHTransport]>([:])

  static func make(hosts: [String: HostSpec], options: TransportOptions) throws -> any Transport {
    let key = Key(
      hosts: hosts, sshConfig: options.sshConfig, identities: options.identities,
      knownHosts: options.knownHosts,
      acceptNewHostKeys: options.acceptNewHostKeys, parallelism: options.parallelism,
      connectTimeout: options.connectTimeout)
    return made.withLock { made in
      if let existing = made[key] { return existing }
      let transport = SSHTransport(
        hosts: hosts,
        settings: SSHSettings(
          sshConfigFile: options.sshConfig, identityFiles: options.identities,
          knownHostsFile: options.knownHosts,
          acceptNewHostKeys: options.acceptNewHostKeys, parallelism: options.parallelism,
          connectTimeout: .seconds(options.connectTimeout), progress: Terminal.progress,
          askPassphrase: PassphrasePrompt.shared.ask(for:)))
      made[key] = transport
      return transport
    }
  }
}

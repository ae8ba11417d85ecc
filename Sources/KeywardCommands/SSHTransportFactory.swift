import KeywardCore
import KeywardSSH

/// Builds the SSH transport from the command-line options.
enum SSHTransportFactory {
  static func make(hosts: [String: HostSpec], options: TransportOptions) throws -> any Transport {
    SSHTransport(
      hosts: hosts,
      settings: SSHSettings(
        sshConfigFile: options.sshConfig, identityFiles: options.identities,
        knownHostsFile: options.knownHosts,
        acceptNewHostKeys: options.acceptNewHostKeys, parallelism: options.parallelism,
        connectTimeout: .seconds(options.connectTimeout)))
  }
}

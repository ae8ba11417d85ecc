import ArgumentParser
import KeywardCore

/// Builds the SSH transport from the command-line options.
enum SSHTransportFactory {
  static func make(hosts: [String: HostSpec], options: TransportOptions) throws -> any Transport {
    throw ValidationError("the SSH transport is not in this build yet; use --local")
  }
}

import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// ssh_config options that shape the TCP connection are honoured, not ignored (no sshd needed:
/// each fails before a server would be reached, in the way only the option explains).
struct ConnectOptionsTests {
  func open(_ config: String) throws -> TransportError? {
    let dir = try Fleet.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/ssh_config"
    try (config + "Host *\n  UserKnownHostsFile \(dir)/known_hosts\n").write(
      toFile: path, atomically: true, encoding: .utf8)
    let settings = SSHSettings(
      sshConfigFile: path, identityFiles: [dir + "/none"], parallelism: 1, connectTimeout: .seconds(2),
      passphrase: .none, useAgent: false)
    let connector = HostConnector(
      settings: settings, hosts: [:], resolver: SSHConfigResolver(configFile: path))
    do throws(TransportError) {
      _ = try connector.open("h", user: "alice")
      return nil
    } catch {
      return error
    }
  }

  @Test("BindAddress: the socket is bound to it (an address this machine does not have fails)")
  func bindAddress() throws {
    let error = try #require(try open("Host h\n  HostName 127.0.172.101\n  BindAddress 192.0.2.77\n"))
    #expect(error.message.contains("BindAddress '192.0.2.77'"), "\(error.message)")
  }

  @Test("AddressFamily inet6 does not connect to an IPv4 address")
  func addressFamily() throws {
    let error = try #require(try open("Host h\n  HostName 127.0.172.101\n  AddressFamily inet6\n"))
    #expect(error.message.contains("cannot resolve '127.0.172.101'"), "\(error.message)")
  }

  @Test("CertificateFile, KnownHostsCommand, RevokedHostKeys fail the host naming the option")
  func refusedAloud() throws {
    for (option, name) in [
      ("CertificateFile /keys/id-cert.pub", "certificatefile"),
      ("KnownHostsCommand /bin/true", "knownhostscommand"),
      ("RevokedHostKeys /etc/ssh/krl", "revokedhostkeys"),
    ] {
      let error = try #require(try open("Host h\n  HostName 127.0.172.101\n  \(option)\n"))
      #expect(error.code == .sshConfigUnsupported)
      #expect(error.message.contains(name), "\(error.message)")
    }
  }
}

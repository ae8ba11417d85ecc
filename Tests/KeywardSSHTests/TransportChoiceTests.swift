import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// `auto`'s decision, from the resolved settings alone (no connection): one ssh_config host per
/// case, with real key files from ssh-keygen and known_hosts files; what libssh2 1.10 can serve
/// stays with it, everything else names why it needs the OpenSSH client.
@Suite struct TransportChoiceTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    /// Lines of the host's ssh_config block (`$D` is the case's directory).
    var config: [String]
    /// known_hosts lines (`$KEY` is a host key, `$CA` a host CA key).
    var knownHosts: [String]
    /// nil: libssh2; else a word the reason must contain.
    var needs: String?
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "ed25519 file", config: ["IdentityFile $D/ed"], knownHosts: ["h.example $KEY"], needs: nil),
    Case(name: "ecdsa file", config: ["IdentityFile $D/ec"], knownHosts: ["h.example $KEY"], needs: nil),
    Case(
      name: "RSA-3072 file", config: ["IdentityFile $D/rsa"], knownHosts: ["h.example $KEY"], needs: "RSA"),
    Case(
      name: "RSA after ed25519", config: ["IdentityFile $D/ed", "IdentityFile $D/rsa"],
      knownHosts: ["h.example $KEY"], needs: "RSA"),
    Case(
      name: "FIDO public key only (agent)", config: ["IdentityFile $D/sk"], knownHosts: ["h.example $KEY"],
      needs: "FIDO"),
    Case(
      name: "certificate beside the key", config: ["IdentityFile $D/certified"],
      knownHosts: ["h.example $KEY"], needs: "certificate"),
    Case(
      name: "CertificateFile", config: ["IdentityFile $D/ed", "CertificateFile $D/certified-cert.pub"],
      knownHosts: ["h.example $KEY"], needs: "certificatefile"),
    Case(
      name: "known only by @cert-authority", config: ["IdentityFile $D/ed"],
      knownHosts: ["@cert-authority *.example $CA"], needs: "@cert-authority"),
    Case(
      name: "@cert-authority and a plain key", config: ["IdentityFile $D/ed"],
      knownHosts: ["@cert-authority *.example $CA", "h.example $KEY"], needs: nil),
    Case(
      name: "unknown host (libssh2 reports it)", config: ["IdentityFile $D/ed"], knownHosts: [], needs: nil),
    Case(
      name: "KnownHostsCommand", config: ["IdentityFile $D/ed", "KnownHostsCommand /bin/true"],
      knownHosts: ["h.example $KEY"], needs: "knownhostscommand"),
  ]

  static func keygen(_ arguments: [String]) throws {
    let result = try Fleet.run("/usr/bin/ssh-keygen", ["-q"] + arguments)
    guard result.status == 0 else { throw FleetError(message: "ssh-keygen \(arguments): \(result.output)") }
  }

  @Test(arguments: cases)
  func autoDecides(_ item: Case) throws {
    let dir = try Fleet.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for (name, type, bits) in [
      ("ed", "ed25519", ""), ("ec", "ecdsa", "256"), ("rsa", "rsa", "3072"), ("certified", "ed25519", ""),
      ("ca", "ed25519", ""), ("hostkey", "ed25519", ""),
    ] {
      try Self.keygen(
        ["-t", type] + (bits.isEmpty ? [] : ["-b", bits]) + ["-N", "", "-C", name, "-f", "\(dir)/\(name)"])
    }
    try Self.keygen(["-s", "\(dir)/ca", "-I", "test", "-n", "root", "\(dir)/certified.pub"])
    // A FIDO key as an agent would hold it: only its public half on disk (no authenticator here).
    var blob: [UInt8] = []
    for field in [
      Array("sk-ssh-ed25519@openssh.com".utf8), [UInt8](repeating: 7, count: 32), Array("ssh:".utf8),
    ] {
      blob += withUnsafeBytes(of: UInt32(field.count).bigEndian, Array.init) + field
    }
    try "sk-ssh-ed25519@openssh.com \(Data(blob).base64EncodedString()) sk\n".write(
      toFile: "\(dir)/sk.pub", atomically: true, encoding: .utf8)
    func key(_ name: String) throws -> String {
      try String(contentsOfFile: "\(dir)/\(name).pub", encoding: .utf8).split(separator: " ").prefix(2)
        .joined(
          separator: " ")
    }
    let known = try item.knownHosts.map {
      $0.replacingOccurrences(of: "$KEY", with: try key("hostkey")).replacingOccurrences(
        of: "$CA", with: try key("ca"))
    }
    try (known.joined(separator: "\n") + "\n").write(
      toFile: "\(dir)/known_hosts", atomically: true, encoding: .utf8)
    let block = item.config.map { "  " + $0.replacingOccurrences(of: "$D", with: dir) }.joined(
      separator: "\n")
    try """
    Host h
      HostName h.example
    \(block)
      UserKnownHostsFile \(dir)/known_hosts
      GlobalKnownHostsFile /dev/null
      IdentitiesOnly yes

    """.write(toFile: "\(dir)/ssh_config", atomically: true, encoding: .utf8)
    let transport = SSHTransport(
      hosts: [:],
      settings: SSHSettings(
        sshConfigFile: "\(dir)/ssh_config", useAgent: false, agentSocket: nil))
    let reason = transport.openSSHReason(for: "h", user: "root")
    if let needs = item.needs {
      #expect(reason?.contains(needs) == true, "\(item.name): \(String(describing: reason))")
    } else {
      #expect(reason == nil, "\(item.name): \(String(describing: reason))")
    }
    print("auto '\(item.name)': \(reason.map { "openssh (\($0))" } ?? "libssh2")")
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// Authentication paths against real sshd hosts: RSA rejection explained, encrypted identity
/// files, ssh-agent filtered by the wanted key.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SSHAuthenticationTests {
  func settings(_ fleet: Fleet, identity: String, passphrase: PassphraseSource = .none, agent: String? = nil)
    -> SSHSettings
  {
    SSHSettings(
      sshConfigFile: fleet.sshConfig, identityFiles: [identity], parallelism: 4, connectTimeout: .seconds(5),
      operationTimeout: .seconds(30), targetDeadline: .seconds(90), passphrase: passphrase,
      useAgent: agent != nil, agentSocket: agent)
  }

  @Test("an RSA identity rejected by sshd is explained: libssh2 1.10 signs with SHA-1 only")
  func rsaIdentityExplained() async throws {
    try await Fleet.with(hosts: 1, subnet: 221) { fleet in
      let path = fleet.dir + "/rsa_key"
      let made = try Fleet.run(
        "/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", path])
      #expect(made.status == 0)
      let line = try String(contentsOfFile: path + ".pub", encoding: .utf8)
      try fleet.install(fleet.adminPublicKey + line, at: fleet.authorizedKeys(1, "alice"), uid: 2001)
      let id = TargetID(user: "alice", host: "lab1")
      let result = await SSHTransport(hosts: [:], settings: settings(fleet, identity: path)).fetch([
        FetchRequest(id: id)
      ])
      let failure = try #require(result[id]?.failure)
      #expect(failure.code == .authFailed)
      #expect(failure.message.contains("SHA-1"))
      #expect(failure.message.contains("ed25519"))
    }
  }

  @Test("an encrypted identity file logs in with the passphrase and fails clearly without it")
  func encryptedIdentity() async throws {
    try await Fleet.with(hosts: 1, subnet: 222) { fleet in
      let path = fleet.dir + "/locked_key"
      let made = try Fleet.run(
        "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "s3cret words", "-C", "locked", "-f", path])
      #expect(made.status == 0)
      let line = try String(contentsOfFile: path + ".pub", encoding: .utf8)
      try fleet.install(line, at: fleet.authorizedKeys(1, "deploy"), uid: 2003)
      let id = TargetID(user: "deploy", host: "lab1")
      let withPassphrase = SSHTransport(
        hosts: [:], settings: settings(fleet, identity: path, passphrase: .value("s3cret words")))
      let observed = try #require(try await withPassphrase.fetch([FetchRequest(id: id)])[id]?.get())
      #expect(observed.loginKeyFingerprint == (try PublicKey(parsing: line)).fingerprint)

      // Without the .pub file the fingerprint still comes from the private key's header.
      try FileManager.default.removeItem(atPath: path + ".pub")
      let again = try #require(try await withPassphrase.fetch([FetchRequest(id: id)])[id]?.get())
      #expect(again.loginKeyFingerprint == (try PublicKey(parsing: line)).fingerprint)

      let without = SSHTransport(hosts: [:], settings: settings(fleet, identity: path, passphrase: .none))
      let failure = try #require(await without.fetch([FetchRequest(id: id)])[id]?.failure)
      #expect(failure.code == .authFailed)
      #expect(failure.message.contains("KEYWARD_SSH_PASSPHRASE"))
      // Nothing reached the server: the message does not say it refused an empty list.
      #expect(
        failure.message.hasPrefix("no key could be offered for 'deploy'; '\(path)' could not be loaded"))
      #expect(!failure.message.contains("(tried )"))
    }
  }

  @Test("ssh-agent: the key named by IdentityFile is picked among others and reported as the login key")
  func agentFilteredByWantedKey() async throws {
    try await Fleet.with(hosts: 1, subnet: 223) { fleet in
      let socket = fleet.dir + "/agent.sock"
      let agent = Process()
      agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
      agent.arguments = ["-D", "-a", socket]
      agent.standardOutput = FileHandle.nullDevice
      agent.standardError = FileHandle.nullDevice
      try agent.run()
      defer {
        // SIGKILL: the agent inherits the test runner's blocked signal mask, SIGTERM included.
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
      }
      for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
      var keys: [(path: String, publicLine: String)] = []
      for index in 1...7 { keys.append(try fleet.makeKey("agent\(index)")) }
      for key in keys {
        let added = try Fleet.run(
          "/usr/bin/ssh-add", ["-q", key.path], environment: ["SSH_AUTH_SOCK": socket])
        #expect(added.status == 0, "\(added.output)")
      }
      // Only the last key is authorized; the private file is gone, as if it lived in the agent only.
      let wanted = keys[6]
      try fleet.install(wanted.publicLine + "\n", at: fleet.authorizedKeys(1, "bob"), uid: 2002)
      try FileManager.default.removeItem(atPath: wanted.path)
      let id = TargetID(user: "bob", host: "lab1")
      let transport = SSHTransport(
        hosts: [:], settings: settings(fleet, identity: wanted.path, agent: socket))
      let observed = try #require(try await transport.fetch([FetchRequest(id: id)])[id]?.get())
      #expect(observed.loginKeyFingerprint == (try PublicKey(parsing: wanted.publicLine)).fingerprint)
    }
  }
}

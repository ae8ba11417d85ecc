import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// known_hosts and connection set-up against real sshd hosts, judged by the real `ssh` client.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct KnownHostsFleetTests {
  func settings(_ fleet: Fleet, config: String? = nil, knownHosts: String? = nil, acceptNew: Bool = false)
    -> SSHSettings
  {
    SSHSettings(
      sshConfigFile: config ?? fleet.sshConfig, identityFiles: [fleet.adminKey], knownHostsFile: knownHosts,
      acceptNewHostKeys: acceptNew, parallelism: 4, connectTimeout: .seconds(10),
      operationTimeout: .seconds(30),
      targetDeadline: .seconds(90), passphrase: .none, useAgent: false)
  }

  /// The host's public keys as `type base64` (ed25519 first).
  func hostKeys(_ fleet: Fleet, _ index: Int) throws -> [String] {
    try ["ed25519", "ecdsa"].map {
      let text = try String(
        contentsOfFile: "\(fleet.dir)/keys/host\(index)/ssh_host_\($0)_key.pub", encoding: .utf8)
      return text.split(separator: " ").prefix(2).joined(separator: " ")
    }
  }

  func write(_ text: String, _ path: String) throws {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// How the real ssh client judged a host key: from its exit status and messages.
  static func sshVerdict(_ result: (status: Int32, output: String)) -> String {
    if result.output.contains("REVOKED HOST KEY DETECTED") { return "revoked" }
    if result.output.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") { return "changed" }
    if result.status == 0 { return "matched" }
    if result.output.contains("host key is known") || result.output.contains("Host key verification failed") {
      return "unknown"
    }
    return "other: \(result.output)"
  }

  static func keywardVerdict(_ result: Result<ObservedTarget, TransportError>?) -> String {
    switch result {
    case .success: return "matched"
    case .failure(let error) where error.code == .hostKeyRevoked: return "revoked"
    case .failure(let error) where error.code == .hostKeyChanged: return "changed"
    case .failure(let error) where error.code == .hostKeyUnknown: return "unknown"
    case .failure(let error): return "other: \(error.code) \(error.message)"
    case nil: return "missing"
    }
  }

  @Test("keyward's host key verdicts agree with real ssh on generated known_hosts files (via HostKeyAlias)")
  func verdictsAgreeWithSSH() async throws {
    try await Fleet.with(hosts: 1, subnet: 173) { fleet in
      let real = try hostKeys(fleet, 1)
      let other = try fleet.makeKey("other").publicLine.split(separator: " ").prefix(2).joined(separator: " ")
      let otherEcdsa = try Fleet.run(
        "/usr/bin/ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", fleet.dir + "/other_ecdsa"])
      #expect(otherEcdsa.status == 0)
      let otherEC = try String(contentsOfFile: fleet.dir + "/other_ecdsa.pub", encoding: .utf8)
        .split(separator: " ").prefix(2).joined(separator: " ")
      // Hashed fields made by ssh-keygen -H.
      let names = ["web1.example.com", "db.example.org", "[10.0.0.5]:2222", "lab1"]
      try write(names.map { "\($0) \(real[0])" }.joined(separator: "\n") + "\n", fleet.dir + "/tohash")
      #expect(try Fleet.run("/usr/bin/ssh-keygen", ["-q", "-H", "-f", fleet.dir + "/tohash"]).status == 0)
      let hashed = try String(contentsOfFile: fleet.dir + "/tohash", encoding: .utf8)
        .split(separator: "\n").map { String($0.split(separator: " ")[0]) }
      let hostFields = [
        "web1.example.com", "*.example.com", "*.example.com,!db.example.org", "!web1.example.com,*",
        "[10.0.0.5]:2222", "[10.0.0.*]:*", "10.0.0.5", "LAB1", "lab?", "db.example.org,web1.example.com",
      ]
      let keys = [real[0], real[0], real[1], other, otherEC, "ssh-ed25519 AAAA"]
      var random = KnownHostsDifferentialGenerator(state: 0x6b68_7373_6864_6966)
      var cases = 0
      var agreements = 0
      for round in 0..<24 {
        var lines: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
          let marker = ["", "", "", "@revoked ", "@cert-authority "].randomElement(using: &random)!
          let field =
            Int.random(in: 0..<4, using: &random) == 0
            ? hashed.randomElement(using: &random)! : hostFields.randomElement(using: &random)!
          lines.append("\(marker)\(field) \(keys.randomElement(using: &random)!)")
        }
        let file = "\(fleet.dir)/kh.\(round)"
        try write(lines.joined(separator: "\n") + "\n", file)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        for name in names {
          let config = "\(fleet.dir)/cfg.\(round)"
          try write(
            """
            Host lab1
              HostName \(fleet.address(1))
              User root
              IdentityFile \(fleet.adminKey)
              IdentitiesOnly yes
              HostKeyAlias \(name)
              UserKnownHostsFile \(file)
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              BatchMode yes

            """, config)
          let ssh = try await Fleet.offPool {
            try Fleet.run(
              "/usr/bin/ssh",
              [
                "-F", config, "-o", "KexAlgorithms=curve25519-sha256", "-o", "IdentityAgent=none", "lab1",
                "true",
              ])
          }
          let transport = SSHTransport(hosts: [:], settings: settings(fleet, config: config))
          let id = TargetID(user: "alice", host: "lab1")
          let result = await transport.fetch([FetchRequest(id: id)])
          transport.closeSessions()
          let expected = Self.sshVerdict(ssh)
          let actual = Self.keywardVerdict(result[id])
          cases += 1
          if expected == actual { agreements += 1 }
          #expect(actual == expected, "\(name) with:\n\(lines.joined(separator: "\n"))")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == original, "known_hosts was written")
      }
      print("host key verdicts vs real ssh: \(cases) cases, \(agreements) agreements")
      #expect(cases == 24 * names.count)
    }
  }

  func manifest(_ fleet: Fleet, granted: String) throws -> String {
    var text = "version: 1\ndefaults:\n  mode: additive\nkeys:\n  admin: { file: admin_ed25519.pub }\n"
    text += "  granted: { file: \(granted) }\nhosts:\n"
    for name in fleet.names { text += "  \(name): {}\n" }
    text += "access:\n  - hosts: [\(fleet.names.joined(separator: ", "))]\n    users: [alice, bob]\n"
    text += "    keys: [admin, granted]\n"
    let path = fleet.dir + "/keys.yaml"
    try write(text, path)
    return path
  }

  func keyward(_ fleet: Fleet, _ arguments: [String]) async throws -> KeywardProcess.Result {
    let (config, dir) = (fleet.sshConfig, fleet.dir)
    return try await Fleet.offPool {
      try KeywardProcess.run(
        arguments + ["--ssh-config", config, "--parallelism", "4"], environment: ["SSH_AUTH_SOCK": ""],
        directory: dir)
    }
  }

  @Test(
    "a @revoked host key is refused by plan and apply, with and without --accept-new-host-keys; nothing is appended; the other hosts converge"
  )
  func revokedRefused() async throws {
    try await Fleet.with(hosts: 3, subnet: 174) { fleet in
      let granted = try fleet.makeKey("granted")
      let path = try manifest(fleet, granted: "granted.pub")
      let lab2 = try hostKeys(fleet, 2)
      // Variant 1: lab2's real lines stay, a @revoked line marks its keys. Variant 2: only the
      // @revoked lines are there (accept-new must not take the key as new).
      let full = try String(contentsOfFile: fleet.knownHosts, encoding: .utf8)
      let revoked = lab2.map { "@revoked * \($0)" }.joined(separator: "\n") + "\n"
      let withoutLab2 =
        full.split(separator: "\n").filter { !$0.hasPrefix("lab2,") }.joined(separator: "\n") + "\n"
      for (variant, text) in [
        ("listed and revoked", full + revoked), ("only revoked", withoutLab2 + revoked),
      ] {
        let known = fleet.dir + "/known_hosts.revoked"
        try write(text, known)
        for extra in [[], ["--accept-new-host-keys"]] {
          let common = ["--known-hosts", known] + extra
          let plan = try await keyward(fleet, ["plan", path] + common)
          #expect(plan.status == 1, "\(variant) \(extra): \(plan.stdout)\(plan.stderr)")
          #expect((plan.stdout + plan.stderr).contains("host-key-revoked"), "\(plan.stdout)\(plan.stderr)")
          #expect((plan.stdout + plan.stderr).contains("@revoked"))
          let apply = try await keyward(fleet, ["apply", path, "--auto-approve"] + common)
          #expect(apply.status == 1, "\(variant) \(extra): \(apply.stdout)\(apply.stderr)")
          #expect((apply.stdout + apply.stderr).contains("host-key-revoked"))
          #expect(try String(contentsOfFile: known, encoding: .utf8) == text, "\(variant) \(extra): appended")
        }
      }
      // The other hosts converged; lab2 was never written.
      for index in [1, 3] {
        #expect(try await fleet.ssh("bob", index, identity: granted.path).status == 0)
      }
      #expect(try await fleet.ssh("bob", 2, identity: granted.path).status != 0)
      #expect(
        try String(contentsOfFile: fleet.authorizedKeys(2, "bob"), encoding: .utf8) == fleet.adminPublicKey)
    }
  }

  @Test("pattern-only and [host]:port known_hosts files work; ProxyCommand carries the connection")
  func patternsPortsAndProxyCommand() async throws {
    try await Fleet.with(hosts: 2, subnet: 175) { fleet in
      let k1 = try hostKeys(fleet, 1)
      let k2 = try hostKeys(fleet, 2)
      let ids = fleet.names.map { TargetID(user: "deploy", host: $0) }

      // Pattern-only: wildcards and a negation, no literal host name.
      let patterns = fleet.dir + "/known_hosts.patterns"
      try write("127.0.*.1 \(k1[0])\n127.0.*.2,!127.0.*.1 \(k2[0])\n", patterns)
      let byPattern = await SSHTransport(hosts: [:], settings: settings(fleet, knownHosts: patterns))
        .fetch(ids.map { FetchRequest(id: $0) })
      for id in ids {
        #expect((try? byPattern[id]?.get()) != nil, "\(id): \(String(describing: byPattern[id]))")
      }

      // Port 2222 in ssh_config, reached through a ProxyCommand that logs and forwards to :22:
      // known_hosts must list the host as [address]:2222, as ssh looks it up.
      let log = fleet.dir + "/proxy.log"
      let ported = fleet.dir + "/known_hosts.ported"
      try write(
        "[\(fleet.address(1))]:2222 \(k1[0])\n[lab2]:2222,[\(fleet.address(2))]:2222 \(k2[1])\n", ported)
      var config = ""
      for index in 1...2 {
        config += """
          Host lab\(index)
            HostName \(fleet.address(index))
            Port 2222
            User root
            IdentityFile \(fleet.adminKey)
            UserKnownHostsFile \(ported)
            ProxyCommand /bin/bash -c 'echo "%n %h %p %r" >> \(log); exec 3<>/dev/tcp/%h/22; cat <&3 & exec cat >&3'

          """
      }
      config +=
        "Host *\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n"
      let configPath = fleet.dir + "/ssh_config.proxy"
      try write(config, configPath)
      let viaProxy = await SSHTransport(hosts: [:], settings: settings(fleet, config: configPath))
        .fetch(ids.map { FetchRequest(id: $0) })
      for id in ids {
        #expect((try? viaProxy[id]?.get()) != nil, "\(id): \(String(describing: viaProxy[id]))")
      }
      let logged = try String(contentsOfFile: log, encoding: .utf8)
      #expect(logged.contains("lab1 \(fleet.address(1)) 2222 deploy"), "\(logged)")
      #expect(logged.contains("lab2 \(fleet.address(2)) 2222 deploy"), "\(logged)")
      // Real ssh agrees with the same files.
      let ssh = try await Fleet.offPool {
        try Fleet.run("/usr/bin/ssh", ["-F", configPath, "-o", "BatchMode=yes", "deploy@lab2", "hostname"])
      }
      #expect(ssh.status == 0 && ssh.output.contains("lab2"), "\(ssh.output)")

      // A ProxyCommand that fails fails its host: keyward never connects around it.
      try write(config.replacingOccurrences(of: "/bin/bash -c", with: "/bin/false"), configPath)
      let refused = await SSHTransport(hosts: [:], settings: settings(fleet, config: configPath))
        .fetch([FetchRequest(id: ids[0])])
      #expect(refused[ids[0]]?.failure?.step == .handshake, "\(String(describing: refused[ids[0]]))")
    }
  }

  @Test(
    "hosts with certificates: ssh verifies them by @cert-authority; keyward (libssh2 1.10) says why it cannot and records nothing"
  )
  func hostCertificates() async throws {
    try await Fleet.with(hosts: 2, subnet: 177) { fleet in
      let caOnly = fleet.dir + "/known_hosts_ca"
      let before = try String(contentsOfFile: caOnly, encoding: .utf8)
      #expect(before.hasPrefix("@cert-authority "))
      let arguments = [
        "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=\(caOnly)", "-o",
        "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o",
        "IdentityAgent=none", "-i", fleet.adminKey, "-v", "root@\(fleet.address(2))", "hostname",
      ]
      let ssh = try await Fleet.offPool { try Fleet.run("/usr/bin/ssh", arguments) }
      #expect(ssh.status == 0, "\(ssh.output)")
      #expect(ssh.output.contains("matches the ED25519-CERT host certificate"), "\(ssh.output)")
      for acceptNew in [false, true] {
        let transport = SSHTransport(
          hosts: [:], settings: settings(fleet, knownHosts: caOnly, acceptNew: acceptNew))
        let id = TargetID(user: "alice", host: "lab2")
        let failure = try #require(await transport.fetch([FetchRequest(id: id)])[id]?.failure)
        #expect(failure.code == .hostKeyUnknown)
        #expect(failure.message.contains("@cert-authority"), "\(failure.message)")
        #expect(failure.message.contains("libssh2 1.10 cannot negotiate certificate host keys"))
        #expect(try String(contentsOfFile: caOnly, encoding: .utf8) == before)
      }
    }
  }

  @Test("accept-new with HashKnownHosts appends one hashed line that ssh-keygen -F finds, once per run")
  func acceptNewHashed() async throws {
    try await Fleet.with(hosts: 2, subnet: 178) { fleet in
      // Every host's UserKnownHostsFile becomes a new, empty file.
      let config = try String(contentsOfFile: fleet.sshConfig, encoding: .utf8)
        .split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.contains("UserKnownHostsFile") ? "  UserKnownHostsFile \(fleet.dir)/kh.new" : String($0) }
        .joined(separator: "\n")
        .replacingOccurrences(
          of: "StrictHostKeyChecking yes", with: "StrictHostKeyChecking accept-new\n  HashKnownHosts yes")
      let path = fleet.dir + "/ssh_config.hashed"
      try write(config, path)
      let transport = SSHTransport(hosts: [:], settings: settings(fleet, config: path))
      let ids = ["alice", "bob"].map { TargetID(user: $0, host: "lab2") }
      // Two logins (two sessions) in one run: the second sees the key the first recorded.
      for id in ids {
        let result = await transport.fetch([FetchRequest(id: id)])
        #expect((try? result[id]?.get()) != nil, "\(String(describing: result[id]))")
      }
      let text = try String(contentsOfFile: fleet.dir + "/kh.new", encoding: .utf8)
      #expect(text.split(separator: "\n").count == 1, "\(text)")
      #expect(text.hasPrefix("|1|") && !text.contains(fleet.address(2)))
      let found = try Fleet.run("/usr/bin/ssh-keygen", ["-F", fleet.address(2), "-f", fleet.dir + "/kh.new"])
      #expect(found.output.contains("found: line 1"), "\(found.output)")
      // And ssh accepts the host with that file.
      let ssh = try await Fleet.offPool {
        try Fleet.run(
          "/usr/bin/ssh", ["-F", path, "-o", "StrictHostKeyChecking=yes", "alice@lab2", "hostname"])
      }
      #expect(ssh.status == 0, "\(ssh.output)")
    }
  }

  @Test("ProxyJump user@address (printed by ssh -G as user@[address]) reaches the host through the jump host")
  func proxyJumpUserAtAddress() async throws {
    try await Fleet.with(hosts: 2, subnet: 176) { fleet in
      let config = try String(contentsOfFile: fleet.sshConfig, encoding: .utf8)
        .replacingOccurrences(
          of: "Host lab2\n", with: "Host lab2\n  ProxyJump root@\(fleet.address(1))\n"
        )
        // The jump host is named by address, so it matches no `Host labN` block: its known_hosts
        // comes from `Host *` (as it would for ssh), never this machine's ~/.ssh.
        .replacingOccurrences(
          of: "Host *\n",
          with: "Host *\n  UserKnownHostsFile \(fleet.knownHosts)\n  IdentityFile \(fleet.adminKey)\n")
      let path = fleet.dir + "/ssh_config.jump"
      try write(config, path)
      let printed = try Fleet.run("/usr/bin/ssh", ["-G", "-F", path, "lab2"]).output
      #expect(printed.contains("proxyjump root@[\(fleet.address(1))]"), "\(printed)")
      let ssh = try await Fleet.offPool {
        try Fleet.run("/usr/bin/ssh", ["-F", path, "-o", "BatchMode=yes", "alice@lab2", "hostname"])
      }
      #expect(ssh.status == 0 && ssh.output.contains("lab2"), "\(ssh.output)")
      let id = TargetID(user: "alice", host: "lab2")
      let result = await SSHTransport(hosts: [:], settings: settings(fleet, config: path)).fetch([
        FetchRequest(id: id)
      ])
      #expect((try? result[id]?.get()) != nil, "\(String(describing: result[id]))")
      // The route goes through the jump host: a jump login that fails fails the host.
      try write(config.replacingOccurrences(of: "ProxyJump root@", with: "ProxyJump nobody@"), path)
      let refused = await SSHTransport(hosts: [:], settings: settings(fleet, config: path)).fetch([
        FetchRequest(id: id)
      ])
      #expect(
        refused[id]?.failure?.message.contains("via jump host") == true, "\(String(describing: refused[id]))")
    }
  }
}

/// SplitMix64 for reproducible generated cases.
struct KnownHostsDifferentialGenerator: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

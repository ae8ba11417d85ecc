import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Encrypted identity files on the OpenSSH-client transport, without an agent, through the
/// `keyward` binary: `KEYWARD_SSH_PASSPHRASE` reaches `ssh` only through keyward as its askpass
/// (plan and apply over `--transport openssh`, and `auto` with an encrypted RSA-3072 key), a
/// wrong passphrase fails the host naming the key file, an unknown host key is still refused
/// (the askpass never says yes) while `--accept-new-host-keys` still works; no `ssh` or askpass
/// is left, and the passphrase appears in no output or report. Real `ssh` logins prove writes.
@Suite(.enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct OpenSSHPassphraseFleetTests {
  static let passphrase = "Tr0ub4dor &3 keyward-askpass"

  struct Lab {
    let fleet: Fleet
    let config: String
    let rsa: String
    let ed25519: String
    let ann: (path: String, publicLine: String)
    let ben: (path: String, publicLine: String)

    func keyward(_ arguments: [String], passphrase: String? = nil) async throws -> KeywardProcess.Result {
      var environment = ["SSH_AUTH_SOCK": ""]
      if let passphrase { environment["KEYWARD_SSH_PASSPHRASE"] = passphrase }
      let (all, dir, env) = (arguments + ["--ssh-config", config], fleet.dir, environment)
      return try await Fleet.offPool {
        try KeywardProcess.run(all, environment: env, directory: dir)
      }
    }

    /// A manifest granting `keys` to alice on every host (lab3 reached through `jump`, if set).
    func manifest(_ name: String, keys: [String], jump: String? = nil) throws -> String {
      let path = "\(fleet.dir)/\(name).yaml"
      try """
      version: 1
      defaults:
        connect_as: root
      keys:
        admin: { file: \(fleet.adminKey).pub }
        ann: { file: \(ann.path).pub }
        ben: { file: \(ben.path).pub }
      hosts:
        lab1: {}
        lab2: {}
        lab3: {\(jump.map { " jump: \"\($0)\" " } ?? "")}
      access:
        - hosts: [lab1, lab2, lab3]
          users: [alice]
          keys: [\(keys.joined(separator: ", "))]

      """.write(toFile: path, atomically: true, encoding: .utf8)
      return path
    }

    /// What may be left of a run: its `ssh` processes, and keyward processes started as askpass
    /// for this lab's keys (their prompt names the key file; other suites run side by side).
    func leftovers() -> [String] {
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
      let askpass = entries.compactMap(Int32.init).filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return argv.count == 2 && argv[0].hasSuffix("keyward") && argv[1].hasPrefix("Enter passphrase")
          && argv[1].contains(fleet.dir + "/")
      }
      return (fleet.sshProcesses(config: config) + askpass).map { pid in
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return "\(pid): "
          + data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
      }
    }
  }

  /// Three hosts; an encrypted RSA-3072 key and an encrypted ed25519 key, both authorized for
  /// root everywhere; an ssh_config that says `BatchMode yes` (keyward overrides it only to
  /// let its askpass answer) and leaves StrictHostKeyChecking at ssh's default, `ask`.
  static func withLab(subnet: Int, _ body: (Lab) async throws -> Void) async throws {
    try await Fleet.with(hosts: 3, subnet: subnet) { fleet in
      let rsa = try fleet.makeKey("enc-rsa3072", type: "rsa", bits: 3072)
      let ed25519 = try fleet.makeKey("enc-ed25519")
      for key in [rsa, ed25519] {
        let encrypted = try Fleet.run(
          "/usr/bin/ssh-keygen", ["-q", "-p", "-P", "", "-N", passphrase, "-f", key.path])
        #expect(encrypted.status == 0, "\(encrypted.output)")
        // Without the passphrase the file cannot be read: it is encrypted.
        let locked = try Fleet.run("/usr/bin/ssh-keygen", ["-y", "-P", "", "-f", key.path])
        #expect(locked.status != 0, "\(key.path) is not encrypted")
      }
      for index in 1...3 {
        try fleet.install(
          fleet.adminPublicKey + rsa.publicLine + "\n" + ed25519.publicLine + "\n",
          at: fleet.authorizedKeys(index, "root"), uid: 0)
      }
      let ann = try fleet.makeKey("ann")
      let ben = try fleet.makeKey("ben")
      var config = ""
      for index in 1...3 { config += "Host lab\(index)\n  HostName \(fleet.address(index))\n\n" }
      config += """
        Host *
          User root
          IdentityFile \(rsa.path)
          IdentitiesOnly yes
          IdentityAgent none
          UserKnownHostsFile \(fleet.knownHosts)
          GlobalKnownHostsFile /dev/null
          UpdateHostKeys no
          BatchMode yes
          LogLevel ERROR

        """
      let configPath = fleet.dir + "/passphrase_config"
      try config.write(toFile: configPath, atomically: true, encoding: .utf8)
      try await body(
        Lab(fleet: fleet, config: configPath, rsa: rsa.path, ed25519: ed25519.path, ann: ann, ben: ben))
    }
  }

  static func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
  }

  @Test(
    "encrypted keys, no agent, KEYWARD_SSH_PASSPHRASE: plan and apply over --transport openssh and through auto (RSA-3072); logins prove them; nothing left; the passphrase is in no output or report"
  )
  func planAndApplyWithPassphrase() async throws {
    try await Self.withLab(subnet: 196) { lab in
      let first = try lab.manifest("first", keys: ["admin", "ann"])
      let openssh = ["--transport", "openssh", "--identity", lab.ed25519]
      var outputs: [String] = []

      // Without a passphrase (no terminal either) ssh keeps BatchMode=yes: the key is unusable.
      let locked = try await lab.keyward(["plan", "--format", "json", first] + openssh)
      #expect(locked.status != 0)
      #expect((locked.stdout + locked.stderr).contains("ssh could not log in"), "\(locked.stdout)")
      #expect(lab.leftovers().isEmpty, "\(lab.leftovers())")

      let plan = try await lab.keyward(
        ["plan", "--format", "json", first] + openssh, passphrase: Self.passphrase)
      #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
      let planned = try Self.json(plan.stdout)
      let transports = (planned["transports"] as? [String: [String: String]])?.mapValues {
        $0["transport"] ?? ""
      }
      #expect(transports == ["lab1": "openssh", "lab2": "openssh", "lab3": "openssh"], "\(plan.stdout)")
      let targets = try #require(planned["targets"] as? [[String: Any]])
      #expect(
        targets.count == 3 && targets.allSatisfy { $0["status"] as? String == "changes" }, "\(plan.stdout)")
      outputs += [plan.stdout, plan.stderr]
      #expect(lab.leftovers().isEmpty, "after plan: \(lab.leftovers())")

      let report1 = lab.fleet.dir + "/report1.json"
      let apply = try await lab.keyward(
        ["apply", "--auto-approve", "--report-file", report1, first] + openssh, passphrase: Self.passphrase)
      #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
      outputs += [apply.stdout, apply.stderr, (try? String(contentsOfFile: report1, encoding: .utf8)) ?? ""]
      #expect(lab.leftovers().isEmpty, "after apply: \(lab.leftovers())")
      var logins = 0
      for index in 1...3 {
        let login = try await lab.fleet.ssh("alice", index, identity: lab.ann.path)
        #expect(login.status == 0, "lab\(index): \(login.output)")
        logins += login.status == 0 ? 1 : 0
      }

      // auto, the encrypted RSA-3072 key of ssh_config: the OpenSSH client is chosen (plan
      // JSON), and the apply grants ben.
      let second = try lab.manifest("second", keys: ["admin", "ann", "ben"])
      let auto = try await lab.keyward(["plan", "--format", "json", second], passphrase: Self.passphrase)
      #expect(auto.status == 0, "\(auto.stdout)\n\(auto.stderr)")
      let autoPlan = try Self.json(auto.stdout)
      let chosen = try #require(autoPlan["transports"] as? [String: [String: String]], "\(auto.stdout)")
      for host in ["lab1", "lab2", "lab3"] {
        #expect(chosen[host]?["transport"] == "openssh", "\(host): \(String(describing: chosen[host]))")
        #expect(
          chosen[host]?["reason"]?.contains("is an RSA key") == true, "\(String(describing: chosen[host]))")
      }
      outputs += [auto.stdout, auto.stderr]
      let report2 = lab.fleet.dir + "/report2.json"
      let autoApply = try await lab.keyward(
        ["apply", "--auto-approve", "--report-file", report2, second], passphrase: Self.passphrase)
      #expect(autoApply.status == 0, "\(autoApply.stdout)\n\(autoApply.stderr)")
      outputs += [
        autoApply.stdout, autoApply.stderr, (try? String(contentsOfFile: report2, encoding: .utf8)) ?? "",
      ]
      #expect(lab.leftovers().isEmpty, "after auto apply: \(lab.leftovers())")
      for index in 1...3 {
        let login = try await lab.fleet.ssh("alice", index, identity: lab.ben.path)
        #expect(login.status == 0, "lab\(index): \(login.output)")
        logins += login.status == 0 ? 1 : 0
      }
      #expect(logins == 6)

      // lab3 through lab1 (a manifest jump): the hop's own ssh decrypts the key through the
      // same askpass; lab3's targets are found converged through the route.
      let jumped = try lab.manifest("jumped", keys: ["admin", "ann", "ben"], jump: "root@lab1")
      let route = try await lab.keyward(
        ["plan", "--format", "json", "--transport", "openssh", jumped], passphrase: Self.passphrase)
      #expect(route.status == 0, "\(route.stdout)\n\(route.stderr)")
      let routed = (try Self.json(route.stdout)["summary"] as? [String: Any])?["unchanged"] as? Int
      #expect(routed == 3, "\(route.stdout)")
      outputs += [route.stdout, route.stderr]
      #expect(lab.leftovers().isEmpty, "after the jump plan: \(lab.leftovers())")
      #expect(!outputs.contains { $0.contains(Self.passphrase) })
      #expect(outputs.filter { !$0.isEmpty }.count >= 6)
      print(
        "encrypted keys over ssh: 3 plans (one through a jump host) and 2 applies on 3 hosts, \(logins) ssh logins with the granted keys, "
          + "\(outputs.count) outputs and reports without the passphrase, \(lab.leftovers().count) processes left"
      )
    }
  }

  @Test(
    "a wrong passphrase fails each host naming the key file, never the passphrase; an unknown host key is refused (the askpass never says yes); --accept-new-host-keys still works"
  )
  func wrongPassphraseAndHostKeys() async throws {
    try await Self.withLab(subnet: 146) { lab in
      let manifest = try lab.manifest("grant", keys: ["admin", "ann"])
      let openssh = ["--transport", "openssh"]
      let wrong = "not-the-passphrase-9f3a"
      let bad = try await lab.keyward(["plan", "--format", "json", manifest] + openssh, passphrase: wrong)
      #expect(bad.status != 0)
      let said = bad.stdout + bad.stderr
      let targets = (try Self.json(bad.stdout)["targets"] as? [[String: Any]]) ?? []
      let failed = targets.filter { "\($0)".contains("does not decrypt it") && "\($0)".contains(lab.rsa) }
      #expect(failed.count == 3, "\(said)")
      #expect(!said.contains(wrong) && !said.contains(Self.passphrase), "\(said)")
      if let start = said.range(of: "ssh could not log in") {
        print("wrong passphrase, as reported: \(said[start.lowerBound...].prefix(while: { $0 != "\"" }))")
      }
      #expect(lab.leftovers().isEmpty, "\(lab.leftovers())")

      // An empty known_hosts: ssh's default StrictHostKeyChecking=ask asks the askpass, which
      // refuses; the host fails on its host key, and nothing is added to known_hosts.
      let empty = lab.fleet.dir + "/known_hosts_empty"
      try "".write(toFile: empty, atomically: true, encoding: .utf8)
      let unknown = try await lab.keyward(
        ["plan", "--format", "json", "--known-hosts", empty, manifest] + openssh, passphrase: Self.passphrase)
      #expect(unknown.status != 0)
      let refused = ((try Self.json(unknown.stdout)["targets"] as? [[String: Any]]) ?? []).filter {
        "\($0)".contains("Host key verification failed") && "\($0)".contains("host-key-unknown")
      }
      #expect(refused.count == 3, "\(unknown.stdout)\n\(unknown.stderr)")
      #expect((try String(contentsOfFile: empty, encoding: .utf8)).isEmpty)
      #expect(lab.leftovers().isEmpty, "\(lab.leftovers())")

      // Asked to, ssh records the new keys itself (accept-new), and the plan works.
      let accepted = try await lab.keyward(
        ["plan", "--format", "json", "--known-hosts", empty, "--accept-new-host-keys", manifest] + openssh,
        passphrase: Self.passphrase)
      #expect(accepted.status == 0, "\(accepted.stdout)\n\(accepted.stderr)")
      let recorded = try String(contentsOfFile: empty, encoding: .utf8).split(separator: "\n").count
      #expect(recorded >= 3, "known_hosts has \(recorded) lines")
      #expect(
        !(accepted.stdout + accepted.stderr + unknown.stdout + unknown.stderr).contains(Self.passphrase))
      #expect(lab.leftovers().isEmpty, "\(lab.leftovers())")
      print(
        "wrong passphrase: \(failed.count) hosts failed naming the key; unknown host key: \(refused.count) refused; "
          + "accept-new: \(recorded) keys recorded; \(lab.leftovers().count) processes left")
    }
  }

  @Test(
    "on a terminal without KEYWARD_SSH_PASSPHRASE: keyward asks once (for 3 hosts' ssh), ssh never prompts, the typed passphrase is not echoed, the plan works"
  )
  func terminalPrompt() async throws {
    try await Self.withLab(subnet: 198) { lab in
      let manifest = try lab.manifest("grant", keys: ["admin", "ann"])
      // util-linux `script` gives keyward a terminal (its standard input and error are the pty).
      let command = [
        KeywardProcess.executable.path, "plan", manifest, "--transport", "openssh", "--identity", lab.ed25519,
        "--ssh-config", lab.config,
      ].map { "'\($0)'" }.joined(separator: " ")
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
      process.arguments = ["-q", "-e", "-c", command, "/dev/null"]
      var environment = ProcessInfo.processInfo.environment
      environment["KEYWARD_SSH_PASSPHRASE"] = nil
      environment["SSH_AUTH_SOCK"] = ""
      environment["NO_COLOR"] = "1"
      environment["SHELL"] = "/bin/sh"
      process.environment = environment
      process.currentDirectoryURL = URL(fileURLWithPath: lab.fleet.dir)
      let input = Pipe()
      let output = Pipe()
      process.standardInput = input
      process.standardOutput = output
      process.standardError = output
      try process.run()
      let passphrase = Self.passphrase
      let text = try await Fleet.offPool { () -> String in
        var seen = Data()
        var answered = false
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
          let chunk = output.fileHandleForReading.availableData
          if chunk.isEmpty { break }
          seen += chunk
          // The prompt is printed once echo is off (getpass): only then is the answer typed.
          if !answered, String(decoding: seen, as: UTF8.self).contains("keyward: passphrase for '") {
            input.fileHandleForWriting.write(Data((passphrase + "\n").utf8))
            answered = true
          }
        }
        return String(decoding: seen, as: UTF8.self)
      }
      try? input.fileHandleForWriting.close()
      process.waitUntilExit()
      let prompts = text.components(separatedBy: "keyward: passphrase for '").count - 1
      #expect(process.terminationStatus == 0 || process.terminationStatus == 2, "\(text)")
      #expect(prompts == 1, "\(text)")
      #expect(text.contains("keyward: passphrase for '\(lab.ed25519)'"), "\(text)")
      #expect(!text.contains("Enter passphrase for key"), "ssh prompted itself: \(text)")
      #expect(!text.contains(passphrase), "the passphrase was echoed")
      #expect(text.contains("alice@lab1") && text.contains("alice@lab3"), "\(text)")
      #expect(lab.leftovers().isEmpty, "\(lab.leftovers())")
      print(
        "terminal: \(prompts) prompt for 3 hosts over ssh, exit \(process.terminationStatus), "
          + "\(lab.leftovers().count) processes left")
    }
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The OpenSSH-client transport end to end, through the `keyward` binary: hosts that libssh2
/// 1.10 cannot reach (an RSA-3072 key in a file and in an agent, a user certificate, a host
/// known only by `@cert-authority`) are planned and applied through `ssh`, chosen by `auto`
/// before connecting; real `ssh` logins with the granted key prove every result, and no `ssh`
/// process of the run outlives it, even after a SIGTERM.
@Suite(.enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct OpenSSHFleetTests {
  /// What each lab host is reached with, and what `auto` must choose for it.
  static let expected: [String: (transport: String, because: String)] = [
    "lab1": ("libssh2", "libssh2 can log in"),
    "lab2": ("openssh", "is an RSA key"),
    "lab3": ("openssh", "has a certificate"),
    "lab4": ("openssh", "the agent holds an RSA key"),
    "lab5": ("openssh", "only through @cert-authority"),
  ]

  /// A lab of 5 hosts (host 3 trusts the lab's user CA), an ssh_config giving each host its own
  /// way in, an agent holding only an RSA key, and a manifest granting `ann` to alice everywhere.
  struct Lab {
    let fleet: Fleet
    let config: String
    let manifest: String
    let ann: (path: String, publicLine: String)

    func keyward(_ arguments: [String]) async throws -> KeywardProcess.Result {
      let (all, dir) = (arguments + ["--ssh-config", config], fleet.dir)
      return try await Fleet.offPool {
        try KeywardProcess.run(all, environment: ["SSH_AUTH_SOCK": ""], directory: dir)
      }
    }

    /// The directories of the control sockets those processes name (`ControlPath=DIR/mN`).
    func controlDirectories() -> Set<String> {
      var found: Set<String> = []
      for pid in sshProcesses() {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
        for word in data.split(separator: 0).map({ String(decoding: $0, as: UTF8.self) })
        where word.hasPrefix("ControlPath=/") {
          found.insert(
            String(word.dropFirst("ControlPath=".count)).split(separator: "/").dropLast().joined(
              separator: "/"))
        }
      }
      return Set(found.map { "/" + $0 })
    }

    /// PIDs of the `ssh` processes started with this lab's ssh_config (argv names it).
    func sshProcesses() -> [Int32] { fleet.sshProcesses(config: config) }
  }

  static func withLab(subnet: Int, _ body: (Lab) async throws -> Void) async throws {
    try await Fleet.with(hosts: 5, subnet: subnet, userCA: [3]) { fleet in
      let rsa = try fleet.makeKey("rsa3072", type: "rsa", bits: 3072)
      let agentRSA = try fleet.makeKey("agent-rsa", type: "rsa", bits: 3072)
      let certified = try fleet.makeKey("certified")
      try fleet.signUserKey(certified.path, principals: ["root"])
      let ann = try fleet.makeKey("ann")
      // Root's authorized_keys on lab2 and lab4 gain the RSA keys; lab3 trusts the CA alone.
      for (index, key) in [(2, rsa), (4, agentRSA)] {
        try fleet.install(
          fleet.adminPublicKey + key.publicLine + "\n", at: fleet.authorizedKeys(index, "root"), uid: 0)
      }
      let socket = fleet.dir + "/agent.sock"
      let agent = Process()
      agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
      agent.arguments = ["-D", "-a", socket]
      agent.standardOutput = FileHandle.nullDevice
      agent.standardError = FileHandle.nullDevice
      try agent.run()
      defer {
        // By PID; SIGKILL because the agent inherits the test runner's blocked signal mask.
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
      }
      for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
      let added = try Fleet.run(
        "/usr/bin/ssh-add", ["-q", agentRSA.path], environment: ["SSH_AUTH_SOCK": socket])
      #expect(added.status == 0, "\(added.output)")
      // The agent's key exists nowhere else: its files are gone.
      try FileManager.default.removeItem(atPath: agentRSA.path)
      try FileManager.default.removeItem(atPath: agentRSA.path + ".pub")

      let dir = fleet.dir
      var config = ""
      for index in 1...5 {
        config += "Host lab\(index)\n  HostName \(fleet.address(index))\n"
        switch index {
        case 2: config += "  IdentityFile \(rsa.path)\n"
        case 3: config += "  IdentityFile \(certified.path)\n"
        case 4:
          config += "  IdentityFile \(dir)/no-such-key\n  IdentitiesOnly no\n  IdentityAgent \(socket)\n"
        default: config += "  IdentityFile \(fleet.adminKey)\n"
        }
        config += "  UserKnownHostsFile \(dir)/\(index == 5 ? "known_hosts_ca" : "known_hosts")\n\n"
      }
      config += """
        Host *
          User root
          IdentitiesOnly yes
          StrictHostKeyChecking yes
          GlobalKnownHostsFile /dev/null
          UpdateHostKeys no
          BatchMode yes
          LogLevel ERROR

        """
      let configPath = dir + "/openssh_config"
      try config.write(toFile: configPath, atomically: true, encoding: .utf8)
      let manifest = """
        version: 1
        defaults:
          connect_as: root
        keys:
          admin: { file: \(fleet.adminKey).pub }
          ann: { file: \(ann.path).pub }
        hosts:
          lab1: {}
          lab2: {}
          lab3: {}
          lab4: {}
          lab5: {}
        access:
          - hosts: [lab1, lab2, lab3, lab4, lab5]
            users: [alice]
            keys: [admin, ann]

        """
      let manifestPath = dir + "/keyward.yaml"
      try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
      try await body(Lab(fleet: fleet, config: configPath, manifest: manifestPath, ann: ann))
    }
  }

  @Test(
    "auto: libssh2 for ed25519, ssh for RSA-3072 (file, agent), a user certificate and a @cert-authority host; plan JSON says so; apply; logins prove it; no ssh left"
  )
  func autoPlanAndApply() async throws {
    try await Self.withLab(subnet: 120) { lab in
      let plan = try await lab.keyward(["plan", "--format", "json", lab.manifest])
      #expect(plan.status == 0, "\(plan.stderr)")
      let json = try #require(
        try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any], "\(plan.stdout)")
      let transports = try #require(json["transports"] as? [String: [String: String]], "\(plan.stdout)")
      for (host, want) in Self.expected {
        #expect(
          transports[host]?["transport"] == want.transport, "\(host): \(String(describing: transports[host]))"
        )
        #expect(
          transports[host]?["reason"]?.contains(want.because) == true,
          "\(host): \(String(describing: transports[host]))")
      }
      #expect(
        try JSONSchemaChecker.check(schema: Schemas.path("plan.schema.json"), [("plan", plan.stdout)]) == [
          "ok plan"
        ])
      // The sshd model came from `sshd -T` on every host, run over the master on the ssh hosts.
      let models = try #require(json["sshd"] as? [[String: Any]], "\(plan.stdout)")
      #expect(models.count == 5)
      #expect(
        models.allSatisfy { $0["source"] as? String == "sshd -T" }, "\(models.map { $0["source"] ?? "" })")
      let targets = try #require(json["targets"] as? [[String: Any]])
      #expect(targets.count == 5)
      #expect(targets.allSatisfy { $0["status"] as? String == "changes" }, "\(plan.stdout)")
      #expect(lab.sshProcesses().isEmpty, "after plan: \(lab.sshProcesses())")

      // The text plan names the transports too.
      let text = try await lab.keyward(["plan", lab.manifest])
      #expect(text.stdout.contains("Transport: libssh2 for lab1 (auto:"), "\(text.stdout)")
      #expect(text.stdout.contains("Transport: openssh for lab2 (auto:"), "\(text.stdout)")

      let apply = try await lab.keyward(["apply", "--auto-approve", lab.manifest])
      #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
      #expect(lab.sshProcesses().isEmpty, "after apply: \(lab.sshProcesses())")
      for index in 1...5 {
        let login = try await lab.fleet.ssh("alice", index, identity: lab.ann.path)
        #expect(login.status == 0, "lab\(index): \(login.output)")
        #expect(
          FileFacts(lab.fleet.authorizedKeys(index, "alice")) == FileFacts(mode: 0o600, uid: 2001, gid: 2001))
      }

      // A staged apply names the transports too (text and JSON), after each file went back to
      // the admin key alone.
      for format in ["text", "json"] {
        for index in 1...5 {
          try lab.fleet.install(
            lab.fleet.adminPublicKey, at: lab.fleet.authorizedKeys(index, "alice"), uid: 2001)
        }
        let staged = try await lab.keyward([
          "apply", "--auto-approve", "--rollout", "1,100%", "--format", format, lab.manifest,
        ])
        #expect(staged.status == 0, "\(staged.stdout)\n\(staged.stderr)")
        if format == "text" {
          #expect(staged.stdout.contains("Wave 2 of 2"), "\(staged.stdout)")
          #expect(staged.stdout.contains("Transport: openssh for lab2"), "\(staged.stdout)")
        } else {
          let report = try #require(
            try JSONSerialization.jsonObject(with: Data(staged.stdout.utf8)) as? [String: Any],
            "\(staged.stdout)")
          let served = (report["transports"] as? [String: [String: String]])?.mapValues {
            $0["transport"] ?? ""
          }
          #expect(served?["lab1"] == "libssh2" && served?["lab2"] == "openssh", "\(staged.stdout)")
          #expect((report["waves"] as? [Any])?.count == 2, "\(staged.stdout)")
        }
      }
      #expect(lab.sshProcesses().isEmpty, "after staged applies: \(lab.sshProcesses())")

      // Forced to libssh2, the RSA host fails as the issue describes (the reason auto exists).
      let forced = try await lab.keyward(["plan", "--format", "json", "--transport", "libssh2", lab.manifest])
      #expect(
        forced.stdout.contains("auth-failed") || forced.stdout.contains("refused every key"),
        "\(forced.stdout)")
      // Forced to openssh, every host is served by ssh and already converged.
      let viaSSH = try await lab.keyward(["plan", "--format", "json", "--transport", "openssh", lab.manifest])
      #expect(viaSSH.status == 0, "\(viaSSH.stderr)")
      let all = try #require(
        try JSONSerialization.jsonObject(with: Data(viaSSH.stdout.utf8)) as? [String: Any], "\(viaSSH.stdout)"
      )
      let chosen = (all["transports"] as? [String: [String: String]])?.mapValues { $0["transport"] ?? "" }
      #expect(chosen == Dictionary(uniqueKeysWithValues: (1...5).map { ("lab\($0)", "openssh") }))
      #expect((all["summary"] as? [String: Any])?["unchanged"] as? Int == 5, "\(viaSSH.stdout)")
      #expect(lab.sshProcesses().isEmpty)
    }
  }

  @Test(
    "SIGTERM to keyward mid-apply: every ssh it started is gone (by PID) and its socket directory too; after SIGKILL the masters end by themselves (their session reads EOF); files whole"
  )
  func killedKeywardLeavesNoSSH() async throws {
    try await Self.withLab(subnet: 121) { lab in
      // A live lock on lab2 holds the run for 20 s while its masters are up.
      let path = lab.fleet.authorizedKeys(2, "alice")
      let original = try #require(lab.fleet.bytes(path))
      try lab.fleet.install(
        "keyward-lock v1\nhost ci-runner-7\nboot x\npid 4242\nstarted 2026-11-23T22:00:00Z\ntoken t\n",
        at: path + ".keyward-lock", uid: 2001, mode: 0o644)
      for signal in [SIGTERM, SIGKILL] {
        let process = Process()
        process.executableURL = KeywardProcess.executable
        process.arguments = ["apply", "--auto-approve", lab.manifest, "--ssh-config", lab.config]
        var environment = ProcessInfo.processInfo.environment
        environment["SSH_AUTH_SOCK"] = ""
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: lab.fleet.dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Wait until the masters of the four ssh hosts are up.
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline && lab.sshProcesses().count < 4 { usleep(50_000) }
        let during = lab.sshProcesses()
        let directories = lab.controlDirectories()
        #expect(during.count >= 4 && !directories.isEmpty, "signal \(signal): \(during) \(directories)")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        if signal == SIGTERM { #expect(process.terminationStatus == 128 + SIGTERM) }
        // Every ssh seen is gone: no process with its PID runs ssh with this lab's config.
        for _ in 0..<200 where !lab.sshProcesses().isEmpty { usleep(50_000) }
        #expect(
          lab.sshProcesses().isEmpty,
          "signal \(signal): left behind: \(lab.sshProcesses()) (seen during the run: \(during))")
        for pid in during { #expect(!lab.sshProcesses().contains(pid)) }
        print(
          "signal \(signal): ssh processes of the run seen: \(during.count), left after: \(lab.sshProcesses().count)"
        )
        #expect(lab.fleet.bytes(path) == original)
        if signal == SIGTERM {
          // The private directory of the control sockets and logs is gone too.
          for directory in directories {
            #expect(!FileManager.default.fileExists(atPath: directory), "\(directory)")
          }
        } else {
          // A killed process cannot clean up: its directory (logs, no sockets) is left; remove it.
          for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        }
      }
      try FileManager.default.removeItem(atPath: path + ".keyward-lock")
    }
  }

  @Test("a bad transport in the manifest is an error at file:line:column")
  func badTransportValue() async throws {
    let root = try TemporaryRoot()
    let file = root.path + "/keyward.yaml"
    try """
    version: 1
    keys:
      a: { file: a.pub }
    hosts:
      web1:
        transport: ssh
    access: []

    """.write(toFile: file, atomically: true, encoding: .utf8)
    let result = try KeywardProcess.run(["validate", file])
    #expect(result.status != 0)
    #expect(result.stderr.contains("keyward.yaml:6:16"), "\(result.stderr)")
    #expect(
      result.stderr.contains("'transport' of host 'web1' must be 'auto', 'libssh2' or 'openssh', not 'ssh'"),
      "\(result.stderr)")
  }
}

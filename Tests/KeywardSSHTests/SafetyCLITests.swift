import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The safety guarantees seen from the command line: two concurrent applies, a stale saved
/// plan, the lock-out guard, and passphrases that never show.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SafetyCLITests {
  static func manifest(_ fleet: Fleet, name: String, keys: [String], users: [String] = ["alice", "bob"])
    throws -> String
  {
    let path = "\(fleet.dir)/\(name).yaml"
    var text = "version: 1\ndefaults:\n  connect_as: root\nkeys:\n  admin: { file: admin_ed25519.pub }\n"
    for key in keys { text += "  \(key): { file: \(key).pub }\n" }
    text += "hosts:\n" + fleet.names.map { "  \($0): {}\n" }.joined()
    text += "access:\n  - hosts: [\(fleet.names.joined(separator: ", "))]\n"
    text +=
      "    users: [\(users.joined(separator: ", "))]\n    keys: [admin, \(keys.joined(separator: ", "))]\n"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// The key fingerprints of a file.
  static func fingerprints(_ bytes: [UInt8]?) -> Set<String> {
    Set(AuthorizedKeysFile(bytes: bytes ?? []).entries.map(\.key.fingerprint))
  }

  @Test(
    "two concurrent applies: every target ends in one of the two planned states; a stale saved plan is refused",
    arguments: LabTransport.allCases)
  func concurrentApplies(_ kind: LabTransport) async throws {
    defer { kind.count(1, "concurrentApplies") }
    try await Fleet.with(hosts: 3, subnet: kind.subnet(159)) { fleet in
      let a = try fleet.makeKey("keya")
      let b = try fleet.makeKey("keyb")
      let admin = try PublicKey(parsing: fleet.adminPublicKey.trimmingCharacters(in: .whitespacesAndNewlines))
      let stateA: Set<String> = [admin.fingerprint, try PublicKey(parsing: a.publicLine).fingerprint]
      let stateB: Set<String> = [admin.fingerprint, try PublicKey(parsing: b.publicLine).fingerprint]
      let manifestA = try Self.manifest(fleet, name: "a", keys: ["keya"])
      let manifestB = try Self.manifest(fleet, name: "b", keys: ["keyb"])
      var endings: [String: Int] = [:]
      let rounds = 4
      for round in 0..<rounds {
        // Start from the admin key alone, then race A against B.
        for index in 1...3 {
          for user in ["alice", "bob"] {
            try fleet.install(
              fleet.adminPublicKey, at: fleet.authorizedKeys(index, user), uid: Fleet.uids[user]!)
          }
        }
        async let first = Task.detached {
          try await fleet.keyward(["apply", manifestA, "--auto-approve"], transport: kind)
        }
        .value
        async let second = Task.detached {
          try await fleet.keyward(["apply", manifestB, "--auto-approve"], transport: kind)
        }
        .value
        let (ra, rb) = try await (first, second)
        for index in 1...3 {
          for user in ["alice", "bob"] {
            let bytes = fleet.bytes(fleet.authorizedKeys(index, user))
            let keys = Self.fingerprints(bytes)
            #expect(keys == stateA || keys == stateB, "round \(round) lab\(index) \(user): a mix: \(keys)")
            #expect(
              AuthorizedKeysFile(bytes: WriteRecord.strip(bytes ?? [])).lines.count == 2,
              "round \(round): a lost or extra line")
            #expect(
              AuthorizedKeysFile(bytes: bytes ?? []).lines.filter { WriteRecord.isRecord($0.raw) }.count == 1,
              "round \(round): one record line")
            endings[keys == stateA ? "A" : "B", default: 0] += 1
          }
        }
        // A run that lost a target says why (stale or locked), never a silent overwrite.
        for result in [ra, rb] where result.status != 0 {
          #expect(
            result.stdout.contains("changed since the plan was made")
              || result.stdout.contains("is locked by"),
            "\(result.stdout)\(result.stderr)")
        }
      }
      print("concurrent rounds: \(rounds) x 6 targets, final states: \(endings)")

      // A plan saved before another run changed the targets is refused as stale. Start from
      // the admin key alone so that the saved plan has changes on every target (after the
      // races the files may already hold state A, and an unchanged target is never written).
      for index in 1...3 {
        for user in ["alice", "bob"] {
          try fleet.install(
            fleet.adminPublicKey, at: fleet.authorizedKeys(index, user), uid: Fleet.uids[user]!)
        }
      }
      let saved = fleet.dir + "/a.plan.json"
      let plan = try await fleet.keyward(["plan", manifestA, "--out", saved], transport: kind)
      #expect(FileManager.default.fileExists(atPath: saved), "\(plan.stdout)\(plan.stderr)")
      let c = try fleet.makeKey("keyc")
      let manifestC = try Self.manifest(fleet, name: "c", keys: ["keyc"])
      #expect(try await fleet.keyward(["apply", manifestC, "--auto-approve"], transport: kind).status == 0)
      let before = fleet.bytes(fleet.authorizedKeys(2, "bob"))
      let stale = try await fleet.keyward(["apply", saved, "--auto-approve"], transport: kind)
      #expect(stale.status != 0)
      #expect(stale.stdout.contains("bob@lab2: stale"), "\(stale.stdout)\(stale.stderr)")
      #expect(fleet.bytes(fleet.authorizedKeys(2, "bob")) == before)
      #expect(try await fleet.ssh("bob", 2, identity: c.path).status == 0)
    }
  }

  @Test(
    "lock-out: dropping the login key is refused without --allow-self-removal; access remains; rollback over SSH",
    arguments: LabTransport.allCases)
  func lockOut(_ kind: LabTransport) async throws {
    defer { kind.count(1, "lockOut") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(148)) { fleet in
      let other = try fleet.makeKey("other")
      let manifest = fleet.dir + "/drop.yaml"
      try """
      version: 1
      keys:
        other: { file: other.pub }
      hosts:
        lab1: {}
      access:
        - hosts: [lab1]
          users: [alice]
          keys: [other]
      """.write(toFile: manifest, atomically: true, encoding: .utf8)
      let path = fleet.authorizedKeys(1, "alice")
      let before = fleet.bytes(path)
      let plan = try await fleet.keyward(["plan", manifest], transport: kind)
      #expect(plan.status != 0)
      #expect((plan.stdout + plan.stderr).contains("--allow-self-removal"), "\(plan.stdout)\(plan.stderr)")
      let apply = try await fleet.keyward(["apply", manifest, "--auto-approve"], transport: kind)
      #expect(apply.status != 0)
      #expect(fleet.bytes(path) == before)
      #expect(try await fleet.ssh("alice", 1).status == 0)

      // A valid change, then 'keyward rollback' over SSH puts the previous file back.
      let keep = fleet.dir + "/keep.yaml"
      try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(
        of: "keys: [other]", with: "keys: [other, admin]"
      ).replacingOccurrences(of: "keys:\n", with: "keys:\n  admin: { file: admin_ed25519.pub }\n")
        .write(toFile: keep, atomically: true, encoding: .utf8)
      let applied = try await fleet.keyward(["apply", keep, "--auto-approve"], transport: kind)
      #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
      #expect(try await fleet.ssh("alice", 1, identity: other.path).status == 0)
      let rollback = try await fleet.keyward(
        ["rollback", "alice@lab1", "--manifest", keep, "--auto-approve"], transport: kind)
      #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
      // Rollback writes through the planner, so the file ends in a fresh record line.
      #expect(WriteRecord.strip(fleet.bytes(path) ?? []) == WriteRecord.strip(before ?? []))
      #expect(try await fleet.ssh("alice", 1, identity: other.path).status != 0)
      #expect(try await fleet.ssh("alice", 1).status == 0)
    }
  }

  @Test(
    "a passphrase-protected identity's passphrase never appears in output, errors or plan files",
    arguments: LabTransport.allCases)
  func passphraseNeverShown(_ kind: LabTransport) async throws {
    defer { kind.count(1, "passphraseNeverShown") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(199)) { fleet in
      let secret = "zebra-Quartz-8812-passphrase"
      let key = fleet.dir + "/locked"
      let made = try Fleet.run(
        "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", secret, "-C", "locked", "-f", key])
      #expect(made.status == 0)
      let line = try String(contentsOfFile: key + ".pub", encoding: .utf8)
      try fleet.install(fleet.adminPublicKey + line, at: fleet.authorizedKeys(1, "alice"), uid: 2001)
      let manifest = fleet.dir + "/keys.yaml"
      try """
      version: 1
      keys:
        locked: { file: locked.pub }
        admin: { file: admin_ed25519.pub }
      hosts:
        lab1: {}
      access:
        - hosts: [lab1]
          users: [alice]
          keys: [locked, admin]
      """.write(toFile: manifest, atomically: true, encoding: .utf8)
      var seen = ""
      for passphrase in [secret, secret + "-wrong"] {
        let planFile = fleet.dir + "/p.json"
        let env = ["KEYWARD_SSH_PASSPHRASE": passphrase]
        let plan = try await fleet.keyward(
          ["plan", manifest, "--identity", key, "--out", planFile], environment: env, transport: kind)
        let json = try await fleet.keyward(
          ["plan", manifest, "--identity", key, "--format", "json"], environment: env, transport: kind)
        let apply = try await fleet.keyward(
          ["apply", manifest, "--identity", key, "--auto-approve"], environment: env, transport: kind)
        let saved = (try? String(contentsOfFile: planFile, encoding: .utf8)) ?? ""
        seen += plan.stdout + plan.stderr + json.stdout + json.stderr + apply.stdout + apply.stderr + saved
        if passphrase == secret {
          #expect(plan.status == 0 || plan.status == 2, "\(plan.stdout)\(plan.stderr)")
        } else if kind == .libssh2 {
          #expect(apply.status != 0)
          #expect((apply.stdout + apply.stderr).contains("auth"), "\(apply.stdout)\(apply.stderr)")
        } else {
          // ssh adds `-i` to ssh_config's IdentityFile list (the lab's admin key), as `ssh -i`
          // does: it skips the key it cannot decrypt and logs in with the next.
          // (OpenSSHPassphraseFleetTests fails a host whose only key has a wrong passphrase.)
          #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        }
      }
      #expect(!seen.contains("zebra-Quartz"))
      #expect(!seen.contains("8812-passphrase"))
      #expect(!seen.contains("PRIVATE KEY"))
      let log = (try? String(contentsOfFile: fleet.dir + "/logs/host1.log", encoding: .utf8)) ?? ""
      #expect(!log.contains("zebra-Quartz"))
    }
  }
}

import Foundation
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The `keyward` binary end to end against a fleet of real sshd hosts: plan, apply, plan again,
/// real logins with granted and removed keys, and stale saved plans.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct FleetCommandTests {
  static let users = ["alice", "bob", "deploy"]

  struct People {
    var ann: (path: String, publicLine: String)
    var ben: (path: String, publicLine: String)
    var stray: (path: String, publicLine: String)
  }

  func people(_ fleet: Fleet) throws -> People {
    People(ann: try fleet.makeKey("ann"), ben: try fleet.makeKey("ben"), stray: try fleet.makeKey("stray"))
  }

  /// admin, ann and ben on every user of every host.
  func writeManifest(_ fleet: Fleet, mode: String, connectAs: String?) throws -> String {
    var text = "version: 1\ndefaults:\n  mode: \(mode)\n"
    if let connectAs { text += "  connect_as: \(connectAs)\n" }
    text += """
      keys:
        admin: { file: admin_ed25519.pub }
        ann: { file: ann.pub }
        ben: { file: ben.pub }
      hosts:

      """
    for name in fleet.names { text += "  \(name): {}\n" }
    text += """
      access:
        - hosts: [\(fleet.names.joined(separator: ", "))]
          users: [\(Self.users.joined(separator: ", "))]
          keys: [admin, ann, ben]

      """
    let path = fleet.dir + "/keys.yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  struct Outcome: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs the keyward binary off the cooperative pool.
  func keyward(_ fleet: Fleet, _ arguments: [String]) async throws -> Outcome {
    let (config, dir) = (fleet.sshConfig, fleet.dir)
    return try await Fleet.offPool {
      let result = try KeywardProcess.run(
        arguments + ["--ssh-config", config, "--parallelism", "8"], environment: ["SSH_AUTH_SOCK": ""],
        directory: dir)
      return Outcome(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
  }

  func identity(_ path: String) -> (inode: UInt64, mtime: Int)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return (UInt64(info.st_ino), info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec)
  }

  @Test(
    "plan, apply and plan again across 5 hosts x 3 users; real logins prove the keys",
    arguments: [
      ("exclusive", nil, 231), ("additive", nil, 232), ("exclusive", "root", 233), ("additive", "root", 234),
    ] as [(String, String?, Int)])
  func planApplyPlan(mode: String, connectAs: String?, subnet: Int) async throws {
    try await Fleet.with(hosts: 5, subnet: subnet) { fleet in
      let keys = try people(fleet)
      for index in 1...5 {
        for user in Self.users {
          try fleet.install(
            fleet.adminPublicKey + keys.stray.publicLine + "\n", at: fleet.authorizedKeys(index, user),
            uid: Fleet.uids[user] ?? 0)
        }
      }
      let manifest = try writeManifest(fleet, mode: mode, connectAs: connectAs)
      let plan = try await keyward(fleet, ["plan", manifest, "--detailed-exitcode"])
      #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
      let removals = mode == "exclusive" ? 15 : 0
      #expect(
        plan.stdout.contains("Plan: 30 to add, 0 to update, \(removals) to remove on 15 targets"),
        "\(plan.stdout)")

      let apply = try await keyward(fleet, ["apply", manifest, "--auto-approve"])
      #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
      #expect(apply.stdout.contains("Apply: 15 applied"), "\(apply.stdout)")

      for index in 1...5 {
        for user in Self.users {
          #expect(
            try await fleet.ssh(user, index, identity: keys.ann.path).status == 0,
            "ann as \(user)@lab\(index)")
          let uid = Fleet.uids[user] ?? 0
          #expect(FileFacts(fleet.authorizedKeys(index, user)) == FileFacts(mode: 0o600, uid: uid, gid: uid))
        }
      }
      #expect(try await fleet.ssh("deploy", 4, identity: keys.ben.path).status == 0)
      let strayLogin = try await fleet.ssh("bob", 3, identity: keys.stray.path).status
      #expect(mode == "exclusive" ? strayLogin != 0 : strayLogin == 0, "stray key after \(mode) apply")

      let files = (1...5).flatMap { index in Self.users.map { fleet.authorizedKeys(index, $0) } }
      let before = files.map(identity)
      let again = try await keyward(fleet, ["plan", manifest, "--detailed-exitcode"])
      #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
      #expect(again.stdout.contains("No changes."))
      let second = try await keyward(fleet, ["apply", manifest, "--auto-approve"])
      #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
      let after = files.map(identity)
      #expect(
        zip(before, after).allSatisfy { $0?.inode == $1?.inode && $0?.mtime == $1?.mtime }, "files rewritten")
    }
  }

  @Test("apply of a stale saved plan is refused for the changed target only")
  func staleSavedPlan() async throws {
    try await Fleet.with(hosts: 3, subnet: 235) { fleet in
      let keys = try people(fleet)
      let manifest = try writeManifest(fleet, mode: "exclusive", connectAs: nil)
      let planFile = fleet.dir + "/saved.plan.json"
      let plan = try await keyward(fleet, ["plan", manifest, "--out", planFile])
      #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")

      let changed = fleet.authorizedKeys(2, "bob")
      let handEdit = fleet.adminPublicKey + keys.stray.publicLine + "\n"
      try fleet.install(handEdit, at: changed, uid: 2002)

      let apply = try await keyward(fleet, ["apply", planFile])
      #expect(apply.status == 1, "\(apply.stdout)\(apply.stderr)")
      #expect(
        apply.stdout.contains("bob@lab2: stale: bob@lab2 changed since the plan was made"),
        "\(apply.stdout)\(apply.stderr)")
      #expect(apply.stdout.contains("8 applied"), "\(apply.stdout)")
      #expect(try String(contentsOfFile: changed, encoding: .utf8) == handEdit)
      #expect(try await fleet.ssh("bob", 2, identity: keys.ann.path).status != 0)
      #expect(try await fleet.ssh("bob", 1, identity: keys.ann.path).status == 0)
      #expect(try await fleet.ssh("alice", 2, identity: keys.ben.path).status == 0)
    }
  }
}

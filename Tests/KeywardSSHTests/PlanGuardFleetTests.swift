import Foundation
import KeywardTestSupport
import Testing

/// The lock-out guard covers every account a write can change, on a real sshd host: a rule for
/// alice that names root's file (opted in with `outside_home: true`) must not remove the key
/// keyward logged in to root with.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct PlanGuardFleetTests {
  @Test("a rule for alice naming root's file keeps root's login key; without the opt-in it is refused")
  func anotherAccountsFileKeepsTheLoginKey() async throws {
    try await Fleet.with(hosts: 1, subnet: 167) { fleet in
      let ann = try fleet.makeKey("ann")
      let rootFile = fleet.authorizedKeys(1, "root")
      let before = fleet.bytes(rootFile)
      #expect(try await fleet.ssh("root", 1).status == 0)
      func manifest(outsideHome: Bool) throws -> String {
        let path = fleet.dir + "/root-\(outsideHome).yaml"
        try """
        version: 1
        defaults: { connect_as: root }
        keys:
          ann: { file: ann.pub }
        hosts:
          lab1: {}
        access:
          - hosts: [lab1]
            users: [alice]
            keys: [ann]
            path: /root/.ssh/authorized_keys
            outside_home: \(outsideHome)

        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
      }
      let run = { (arguments: [String]) async throws -> KeywardProcess.Result in
        let (config, dir) = (fleet.sshConfig, fleet.dir)
        return try await Fleet.offPool {
          try KeywardProcess.run(
            arguments + ["--ssh-config", config], environment: ["SSH_AUTH_SOCK": ""], directory: dir)
        }
      }
      let confined = try await run(["apply", try manifest(outsideHome: false), "--auto-approve"])
      #expect(confined.status == 1)
      #expect(confined.stderr.contains("[path-outside-home]"), "\(confined.stdout)\(confined.stderr)")

      let plan = try await run(["plan", try manifest(outsideHome: true)])
      #expect(plan.status == 1)
      // Refused twice over: acting as alice, keyward cannot even read root's file; where a
      // transport could, the planner keeps root's login key in it.
      #expect(
        plan.stdout.contains("keyward logged in as 'root' with it and sshd reads this file for that account")
          || plan.stdout.contains(
            "alice@lab1:/root/.ssh/authorized_keys: lab1: read: lstat '/root/.ssh': permission denied"),
        "\(plan.stdout)\(plan.stderr)")
      let apply = try await run(["apply", try manifest(outsideHome: true), "--auto-approve"])
      #expect(apply.status == 1)
      #expect(fleet.bytes(rootFile) == before)
      #expect(try await fleet.ssh("root", 1).status == 0)
      #expect(try await fleet.ssh("root", 1, identity: ann.path).status != 0)
    }
  }
}

import Foundation
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A staged rollout over 10 real sshd hosts: waves 1, 3, 100%; wave 2 holds a host whose home is
/// world-writable, so sshd refuses the key there and the login check after the write fails.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct RolloutFleetTests {
  func keyward(_ fleet: Fleet, _ kind: LabTransport, _ arguments: [String]) async throws
    -> KeywardProcess.Result
  {
    let (config, dir) = (fleet.sshConfig, fleet.dir)
    return try await Fleet.offPool {
      try KeywardProcess.run(
        arguments + ["--ssh-config", config, "--parallelism", "8", "--transport", kind.rawValue],
        environment: ["SSH_AUTH_SOCK": ""],
        directory: dir)
    }
  }

  @Test(
    "rollout 1,3,100% stops after the wave whose login check fails (StrictModes); --resume finishes it",
    arguments: LabTransport.allCases)
  func rolloutStopsAtTheGateAndResumes(_ kind: LabTransport) async throws {
    defer { kind.count(1, "StrictModes rollout gate") }
    try await Fleet.with(hosts: 10, subnet: kind.subnet(164)) { fleet in
      let ann = try fleet.makeKey("ann")
      let original = fleet.adminPublicKey
      for index in 1...10 {
        try fleet.install(original, at: fleet.authorizedKeys(index, "alice"), uid: 2001)
      }
      var text = """
        version: 1
        defaults:
          connect_as: root
        keys:
          admin: { file: admin_ed25519.pub }
          ann: { file: ann.pub }
        hosts:

        """
      for name in fleet.names { text += "  \(name): {}\n" }
      text += """
        access:
          - hosts: [\(fleet.names.joined(separator: ", "))]
            users: [alice]
            keys: [admin, ann]

        """
      let manifest = fleet.dir + "/keys.yaml"
      try text.write(toFile: manifest, atomically: true, encoding: .utf8)
      let planFile = fleet.dir + "/rollout.plan"

      let plan = try await keyward(
        fleet, kind, ["plan", manifest, "--out", planFile, "--rollout", "1,3,100%"])
      #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
      #expect(plan.stdout.contains("Rollout 1,3,100%: 3 waves over 10 hosts with changes"), "\(plan.stdout)")
      #expect(
        plan.stdout.contains("  wave 1: lab1\n  wave 2: lab2, lab3, lab4\n  wave 3: lab5, lab6, lab7, lab8"))

      // Broken after the plan: sshd's StrictModes refuses keys under a world-writable home.
      chmod(fleet.home(3, "alice"), 0o777)
      let untouched = (5...10).map { fleet.bytes(fleet.authorizedKeys($0, "alice")) }

      let first = try await keyward(fleet, kind, ["apply", planFile, "--rollout", "1,3,100%"])
      #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
      #expect(first.stdout.contains("Wave 1 of 3 (lab1): 1 applied; gate passed"), "\(first.stdout)")
      #expect(
        first.stdout.contains(
          "Wave 2 of 3 (lab2, lab3, lab4): 2 applied, 1 rolled back; gate closed: the login check failed on alice@lab3"
        ), "\(first.stdout)")
      #expect(first.stdout.contains("Rollout stopped after wave 2 of 3: 1 wave not started."))
      #expect(first.stdout.contains("alice@lab3: rolled-back"))
      #expect(first.stdout.contains("alice@lab7: skipped: not applied: the rollout stopped after wave 2"))
      #expect(!first.stdout.contains("Wave 3 of 3"))
      #expect(first.stderr.contains("keyward apply --resume \(planFile) --rollout 1,3,100%"))
      #expect(
        (5...10).map { fleet.bytes(fleet.authorizedKeys($0, "alice")) } == untouched, "wave 3 was touched")
      #expect(fleet.bytes(fleet.authorizedKeys(3, "alice")) == Array(original.utf8))
      for index in [1, 2, 4] { #expect(try await fleet.ssh("alice", index, identity: ann.path).status == 0) }
      for index in [3, 5, 10] { #expect(try await fleet.ssh("alice", index, identity: ann.path).status != 0) }

      chmod(fleet.home(3, "alice"), 0o755)
      let resumed = try await keyward(fleet, kind, ["apply", "--resume", planFile, "--rollout", "1,3,100%"])
      #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
      #expect(resumed.stdout.contains("Wave 1 of 3 (lab1): 1 unchanged; gate passed"), "\(resumed.stdout)")
      #expect(resumed.stdout.contains("Wave 2 of 3 (lab2, lab3, lab4): 1 applied, 2 unchanged; gate passed"))
      #expect(
        resumed.stdout.contains("Wave 3 of 3 (lab5, lab6, lab7, lab8, lab9, lab10): 6 applied; gate passed"))
      for index in 1...10 {
        #expect(try await fleet.ssh("alice", index, identity: ann.path).status == 0, "ann on lab\(index)")
      }
      let again = try await keyward(fleet, kind, ["plan", manifest, "--detailed-exitcode"])
      #expect(again.status == 0, "\(again.stdout)")
    }
  }
}

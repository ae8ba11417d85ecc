import Foundation
import KeywardTestSupport
import Testing

/// Host `canary:`/`tier:` order the waves; the plan shows them in every format and a saved plan
/// carries the manifest's `rollout:` into `apply PLANFILE`. Then `rotate-login` over the same
/// fleet, logging in as root (`connect_as`), rotates in that order and updates the manifest so
/// that the next plan (made with the new key) is empty.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct RolloutOrderFleetTests {
  func keyward(_ fleet: Fleet, _ arguments: [String], ssh: Bool = true) async throws -> KeywardProcess.Result
  {
    let (config, dir) = (fleet.sshConfig, fleet.dir)
    return try await Fleet.offPool {
      try KeywardProcess.run(
        arguments + (ssh ? ["--ssh-config", config] : []), environment: ["SSH_AUTH_SOCK": ""], directory: dir)
    }
  }

  @Test(
    "canary and tiers order the waves; apply PLANFILE keeps the manifest's rollout; rotate-login follows them"
  )
  func tiersOrderWavesAndRotation() async throws {
    try await Fleet.with(hosts: 4, subnet: 132) { fleet in
      let ann = try fleet.makeKey("ann")
      let admin = fleet.adminPublicKey.trimmingCharacters(in: .whitespacesAndNewlines)
      let manifest = fleet.dir + "/keys.yaml"
      try """
      version: 1
      rollout: "1,2,100%"
      defaults:
        connect_as: root
      keys:
        keyward: \(admin)
        ann: { file: ann.pub }
      hosts:
        lab1: { tier: 2 }
        lab2: {}
        lab3: { canary: true }
        lab4: { tier: 1 }
      access:
        - { hosts: [lab1, lab2, lab3, lab4], users: [root], keys: [keyward] }
        - { hosts: [lab1, lab2, lab3, lab4], users: [alice], keys: [ann] }

      """.write(toFile: manifest, atomically: true, encoding: .utf8)

      let planFile = fleet.dir + "/staged.plan"
      let text = try await keyward(fleet, ["plan", manifest, "--out", planFile])
      #expect(text.status == 0, "\(text.stdout)\(text.stderr)")
      #expect(
        text.stdout.contains(
          "Rollout 1,2,100%: 3 waves over 4 hosts with changes\n  wave 1: lab3\n  wave 2: lab4, lab1\n  wave 3: lab2\n"
        ),
        "\(text.stdout)")
      let saved = try String(contentsOfFile: planFile, encoding: .utf8)
      #expect(saved.contains("\"format_version\" : 3") && saved.contains("\"rollout\" : \"1,2,100%\""))

      let markdown = try await keyward(fleet, ["show", planFile, "--format", "markdown"], ssh: false)
      #expect(
        markdown.stdout.contains("**Rollout `1,2,100%`**: 3 waves over 4 hosts with changes"),
        "\(markdown.stdout)")
      #expect(markdown.stdout.contains("1. `lab3`\n2. `lab4`, `lab1`\n3. `lab2`\n"), "\(markdown.stdout)")

      let json = try await keyward(fleet, ["plan", manifest, "--format", "json"])
      let document = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
      let rollout = try #require(document["rollout"] as? [String: Any])
      #expect(rollout["sizes"] as? String == "1,2,100%")
      #expect(rollout["waves"] as? [[String]] == [["lab3"], ["lab4", "lab1"], ["lab2"]])
      if JSONSchemaChecker.isAvailable || JSONSchemaChecker.isCI {
        let checked = try JSONSchemaChecker.check(
          schema: Schemas.path("plan.schema.json"), [("plan", json.stdout), ("planfile", saved)])
        #expect(checked == ["ok plan", "ok planfile"])
      }

      // apply PLANFILE without --rollout: the plan's own rollout, in the plan's order.
      let apply = try await keyward(fleet, ["apply", planFile])
      #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
      #expect(apply.stdout.contains("Wave 1 of 3 (lab3): 1 applied; gate passed"), "\(apply.stdout)")
      #expect(apply.stdout.contains("Wave 2 of 3 (lab4, lab1): 2 applied; gate passed"), "\(apply.stdout)")
      #expect(apply.stdout.contains("Wave 3 of 3 (lab2): 1 applied; gate passed"), "\(apply.stdout)")
      for index in 1...4 { #expect(try await fleet.ssh("alice", index, identity: ann.path).status == 0) }

      // Rotate the login key (root's, as connect_as says) in the same order, updating the manifest.
      let next = try fleet.makeKey("keyward-2027")
      let rotate = try await keyward(
        fleet, ["rotate-login", manifest, "--new-key", next.path, "--update-manifests", "--auto-approve"])
      #expect(rotate.status == 0, "\(rotate.stdout)\(rotate.stderr)")
      #expect(rotate.stdout.contains("Rollout 1,2,100%: 3 waves over 4 hosts to rotate"), "\(rotate.stdout)")
      #expect(rotate.stdout.contains("Wave 1 of 3 (lab3): 1 rotated; gate passed"), "\(rotate.stdout)")
      #expect(rotate.stdout.contains("Wave 2 of 3 (lab4, lab1): 2 rotated; gate passed"), "\(rotate.stdout)")
      #expect(
        rotate.stdout.contains("Rotation: 4 rotated, 0 already rotated, 0 failed, 0 skipped of 4 accounts."))
      #expect(rotate.stderr.contains("/keys.yaml:6:12: key 'keyward' to the new key"), "\(rotate.stderr)")
      let updated = try String(contentsOfFile: manifest, encoding: .utf8)
      #expect(updated.contains("  keyward: \(next.publicLine)\n"), "\(updated)")
      #expect(!updated.contains(admin.split(separator: " ")[1]))
      for index in 1...4 {
        #expect(try await fleet.ssh("root", index, identity: next.path).status == 0)
        #expect(
          try await fleet.ssh("root", index).status != 0, "the old key still logs in as root on lab\(index)")
        // Other accounts were never keyward's login: alice keeps exactly ann's key.
        #expect(try await fleet.ssh("alice", index, identity: ann.path).status == 0)
      }
      // Run again, for machines: nothing left to do, in the documented shape.
      let again = try await keyward(
        fleet, ["rotate-login", manifest, "--new-key", next.path, "--auto-approve", "--format", "json"])
      #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
      let report = try #require(
        try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any], "\(again.stdout)")
      #expect(report["complete"] as? Bool == true)
      let statuses = (report["results"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
      #expect(statuses == Array(repeating: "already-rotated", count: 4))
      if JSONSchemaChecker.isAvailable || JSONSchemaChecker.isCI {
        let checked = try JSONSchemaChecker.check(
          schema: Schemas.path("rotation.schema.json"), [("rotation", again.stdout)])
        #expect(checked == ["ok rotation"])
      }
      // The updated manifest agrees with the hosts: with the new key, nothing left to change.
      let after = try await keyward(
        fleet, ["plan", manifest, "--identity", next.path, "--detailed-exitcode"])
      #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
    }
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// `keyward import` on 10 hosts x 3 users seeded with messy files: the manifests validate,
/// `plan` on them shows no changes, and the lines it could not import are listed.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct ImportFleetTests {
  @Test("import of a messy fleet: valid manifests, an empty plan, skipped lines listed")
  func importMessyFleet() async throws {
    try await Fleet.with(hosts: 10, subnet: 174) { fleet in
      var keys: [String] = []
      for n in 1...6 { keys.append(try fleet.makeKey("k\(n)").publicLine) }
      func material(_ n: Int) -> String { keys[n - 1].split(separator: " ").prefix(2).joined(separator: " ") }
      var invalid = 0
      var duplicates = 0
      for host in 1...10 {
        // alice: one key under two comments across the fleet; a from= variant per half; CRLF on lab3.
        var alice = [
          material(1) + (host % 2 == 0 ? " alice@laptop" : " alice@LAPTOP (old)"),
          (host <= 5 ? "from=\"10.0.0.0/8\" " : "from=\"192.168.0.0/16\" ") + material(2) + " ci",
        ]
        if host == 7 { alice.insert("", at: 0) }
        let eol = host == 3 ? "\r\n" : "\n"
        try fleet.install(
          alice.joined(separator: eol) + eol, at: fleet.authorizedKeys(host, "alice"), uid: 2001)
        // bob: options, expiry, a comment line, an invalid line; an empty file on lab2, none on lab4.
        let bobPath = fleet.authorizedKeys(host, "bob")
        switch host {
        case 2: try fleet.install("", at: bobPath, uid: 2002)
        case 4: try FileManager.default.removeItem(atPath: bobPath)
        default:
          let bob = [
            "# managed by hand", "restrict,command=\"/usr/bin/backup --daily\" \(material(3)) backup@ci",
            "ssh-ed25519 AAAA-not-base64 broken", "expiry-time=\"20300101Z\" \(material(4)) bob", "",
          ]
          invalid += 1
          try fleet.install(bob.joined(separator: "\n") + "\n", at: bobPath, uid: 2002)
        }
        // deploy: a comment with spaces, '#' and non-ASCII; a key on two lines on lab5.
        var deploy = [
          "\(material(5)) deploy key #1 é", fleet.adminPublicKey.trimmingCharacters(in: .newlines),
        ]
        if host == 5 {
          deploy += [material(6) + " twice", "no-pty " + material(6) + " twice"]
          duplicates += 2
        }
        try fleet.install(
          deploy.joined(separator: "\n") + "\n", at: fleet.authorizedKeys(host, "deploy"), uid: 2003)
      }
      let out = fleet.dir + "/imported"
      let targets = fleet.names.map { "*@" + $0 }
      let started = Date()
      let imported = try await fleet.keyward(["import"] + targets + ["--connect-as", "root", "--out", out])
      let seconds = Date().timeIntervalSince(started)
      #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
      print("import of 10 hosts x 4 accounts: \(String(format: "%.2f", seconds)) s")

      // Every skipped line is listed with host, file and line.
      let skipped = imported.stderr.split(separator: "\n").filter { $0.hasPrefix("not imported: ") }
      #expect(skipped.filter { $0.contains("not a valid key line") }.count == invalid, "\(imported.stderr)")
      #expect(
        skipped.contains { $0.contains("bob@lab1:/home/bob/.ssh/authorized_keys:3: not a valid key line") })
      #expect(skipped.filter { $0.contains("the same key is on 2 lines") }.count == duplicates)
      #expect(skipped.count == invalid + duplicates, "\(imported.stderr)")

      // One entry for the key under two comments (no comment written: each host keeps its own);
      // two for the from= variants.
      let keysText = try String(contentsOfFile: out + "/keys.yaml", encoding: .utf8)
      let base64 = { (n: Int) in String(material(n).split(separator: " ")[1]) }
      #expect(keysText.components(separatedBy: base64(1)).count - 1 == 1)
      #expect(!keysText.contains("alice@laptop"))
      #expect(keysText.components(separatedBy: base64(2)).count - 1 == 2)
      #expect(keysText.contains("expiry-time"))

      // The promise: the manifests validate and their plan is empty.
      let validate = try KeywardProcess.run(["validate", out])
      #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
      let plan = try await fleet.keyward(["plan", out, "--detailed-exitcode"])
      #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
      #expect(plan.stdout.contains("No changes"), "\(plan.stdout)")

      // It never overwrites.
      let again = try await fleet.keyward(["import", "*@lab1", "--connect-as", "root", "--out", out])
      #expect(again.status != 0)
      #expect(again.stderr.contains("never overwrites"), "\(again.stderr)")
    }
  }
}

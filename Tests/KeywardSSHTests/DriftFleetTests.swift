import Foundation
import KeywardTestSupport
import Testing

/// The schedule loop end to end on real sshd hosts: drift told apart from intent in one run
/// (text, JSON, report file, metrics file), a key dropped from a rule named as such, and
/// `apply --detailed-exitcode` in its four situations.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct DriftFleetTests {
  struct Outcome: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var all: String { stdout + stderr }
  }

  func keyward(_ fleet: Fleet, _ arguments: [String]) async throws -> Outcome {
    let (config, dir) = (fleet.sshConfig, fleet.dir)
    return try await Fleet.offPool {
      let result = try KeywardProcess.run(
        arguments + ["--ssh-config", config],
        environment: ["SSH_AUTH_SOCK": "", "KEYWARD_REVISION": "rev-test"],
        directory: dir)
      return Outcome(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
  }

  /// `rules`: (users, keys) per access rule, over every host of the fleet plus `extraHosts`.
  func manifest(_ fleet: Fleet, _ rules: [([String], [String])], extraHosts: [String: String] = [:]) throws
    -> String
  {
    var text = """
      version: 1
      defaults:
        mode: exclusive
      keys:
        admin: { file: admin_ed25519.pub }
        ann: { file: ann.pub }
        ben: { file: ben.pub }
      hosts:

      """
    for name in fleet.names { text += "  \(name): {}\n" }
    for (name, address) in extraHosts.sorted(by: { $0.key < $1.key }) {
      text += "  \(name): { hostname: \(address) }\n"
    }
    text += "access:\n"
    let hosts = (fleet.names + extraHosts.keys.sorted()).joined(separator: ", ")
    for (users, keys) in rules {
      text += "  - hosts: [\(hosts)]\n    users: [\(users.joined(separator: ", "))]\n"
      text += "    keys: [\(keys.joined(separator: ", "))]\n"
    }
    let path = fleet.dir + "/keys.yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test("a hand-added key is drift, a manifest change intent, both in one run with the right counts")
  func driftAndIntentInOneRun() async throws {
    try await Fleet.with(hosts: 2, subnet: 161) { fleet in
      _ = try fleet.makeKey("ann")
      _ = try fleet.makeKey("ben")
      let stray = try fleet.makeKey("stray")
      let path = try manifest(fleet, [(["alice", "bob"], ["admin", "ann"])])
      let first = try await keyward(fleet, ["apply", path, "--auto-approve"])
      #expect(first.status == 0, "\(first.all)")
      // Files keyward never wrote before: unknown history.
      #expect(first.stdout.contains("Origin: 0 intent (manifest changes), 0 drift"), "\(first.stdout)")
      #expect(first.stdout.contains("4 unknown"), "\(first.stdout)")
      let written = try String(contentsOfFile: fleet.authorizedKeys(1, "alice"), encoding: .utf8)
      #expect(written.split(separator: "\n").last?.hasPrefix("# keyward-record v1 digest=") == true)
      #expect(written.contains(" revision=rev-test "))

      // Drift: a key added by hand on one host. Intent: bob loses ann and gains ben.
      let alice1 = fleet.authorizedKeys(1, "alice")
      try fleet.install(written + stray.publicLine + "\n", at: alice1, uid: 2001)
      _ = try manifest(fleet, [(["alice"], ["admin", "ann"]), (["bob"], ["admin", "ben"])])

      let plan = try await keyward(fleet, ["plan", path, "--no-color"])
      #expect(plan.status == 0, "\(plan.all)")
      #expect(
        plan.stdout.contains("alice@lab1 (.ssh/authorized_keys, exclusive) [1 drift]"), "\(plan.stdout)")
      #expect(plan.stdout.contains("(unmanaged) line 4  # drift: not in the manifests (exclusive mode)"))
      #expect(plan.stdout.contains("bob@lab2 (.ssh/authorized_keys, exclusive) [2 intent]"))
      #expect(plan.stdout.contains("'ann' line 2  # intent: no longer granted by any rule"), "\(plan.stdout)")
      #expect(plan.stdout.contains("'ben'  # intent: granted by access[1]"), "\(plan.stdout)")
      #expect(plan.stdout.contains("Origin: 4 intent (manifest changes), 1 drift (undo edits made on hosts)"))
      #expect(!plan.stdout.contains("unknown"), "\(plan.stdout)")

      let json = try await keyward(fleet, ["plan", path, "--format", "json"])
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let summary = try #require(object["summary"] as? [String: Int])
      #expect(summary["intent"] == 4 && summary["drift"] == 1 && summary["unknown"] == 0, "\(summary)")
      #expect(summary["drifted"] == 1)

      let report = fleet.dir + "/report.json"
      let metrics = fleet.dir + "/keyward.prom"
      let apply = try await keyward(
        fleet, ["apply", path, "--auto-approve", "--report-file", report, "--metrics-file", metrics])
      #expect(apply.status == 0, "\(apply.all)")
      #expect(
        try await fleet.ssh("alice", 1, identity: stray.path).status != 0, "the drifted key was removed")
      #expect(try await fleet.ssh("bob", 2, identity: fleet.dir + "/ben").status == 0)
      #expect(try await fleet.ssh("bob", 2, identity: fleet.dir + "/ann").status != 0)

      let record = try #require(
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))
          as? [String: Any])
      #expect(record["command"] as? String == "apply")
      #expect(record["revision"] as? String == "rev-test")
      #expect(record["success"] as? Bool == true)
      let totals = try #require(record["totals"] as? [String: Any])
      #expect(totals["changes"] as? [String: Int] == ["intent": 4, "drift": 1, "unknown": 0])
      let outcomes = try #require(totals["outcomes"] as? [String: Int])
      #expect(
        outcomes["applied"] == 3 && outcomes["unchanged"] == 1 && outcomes["failed"] == 0, "\(outcomes)")
      let targets = try #require(record["targets"] as? [[String: Any]])
      let alice = try #require(targets.first { $0["target"] as? String == "alice@lab1" })
      #expect(alice["history"] as? String == "changed")
      #expect(alice["origins"] as? [String: Int] == ["intent": 0, "drift": 1, "unknown": 0])

      let reportText = try String(contentsOfFile: report, encoding: .utf8)
      let planDocument = try #require(
        try JSONSchemaChecker.check(schema: Schemas.path("run-report.schema.json"), [("report", reportText)])
          .first)
      #expect(planDocument == "ok report")
      let planSchema = try JSONSchemaChecker.check(
        schema: Schemas.path("plan.schema.json"), [("plan", json.stdout)])
      #expect(planSchema == ["ok plan"])

      let samples = try Prometheus.parse(metrics)
      #expect(samples["keyward_changes{command=apply,origin=drift}"] == 1, "\(samples)")
      #expect(samples["keyward_changes{command=apply,origin=intent}"] == 4)
      #expect(samples["keyward_targets{command=apply,outcome=applied}"] == 3)
      #expect(samples["keyward_last_run_success{command=apply}"] == 1)
      let finished = try #require(samples["keyward_last_run_timestamp_seconds{command=apply}"])
      #expect(abs(finished - Date().timeIntervalSince1970) < 600)
      // Both files were replaced atomically: no temporary file is left beside them.
      let names = try FileManager.default.contentsOfDirectory(atPath: fleet.dir)
      #expect(!names.contains { $0.hasPrefix(".report.json.") || $0.hasPrefix(".keyward.prom.") }, "\(names)")

      // Converged: a second plan has nothing to do, and says nothing about drift.
      let again = try await keyward(fleet, ["plan", path, "--detailed-exitcode"])
      #expect(again.status == 0, "\(again.all)")
      #expect(!again.stdout.contains("Origin:"), "\(again.stdout)")
    }
  }

  @Test("apply --detailed-exitcode: 0 nothing to do, 2 changes applied, 4 failures, 6 both")
  func detailedExitCodes() async throws {
    try await Fleet.with(hosts: 1, subnet: 163) { fleet in
      _ = try fleet.makeKey("ann")
      _ = try fleet.makeKey("ben")
      // A host nobody answers on: every run that includes it fails there.
      let ghost = ["ghost": "127.0.\(fleet.subnet).250"]
      let path = try manifest(fleet, [(["alice"], ["admin", "ann"])], extraHosts: ghost)
      let metrics = fleet.dir + "/keyward.prom"
      let both = try await keyward(
        fleet, ["apply", path, "--auto-approve", "--detailed-exitcode", "--metrics-file", metrics])
      #expect(both.status == 6, "\(both.all)")
      var samples = try Prometheus.parse(metrics)
      #expect(samples["keyward_last_run_success{command=apply}"] == 0)
      #expect(samples["keyward_last_run_exit_code{command=apply}"] == 6)
      #expect(samples["keyward_targets{command=apply,outcome=skipped}"] == 1)

      let failuresOnly = try await keyward(
        fleet, ["apply", path, "--auto-approve", "--detailed-exitcode", "--metrics-file", metrics])
      #expect(failuresOnly.status == 4, "\(failuresOnly.all)")
      samples = try Prometheus.parse(metrics)
      #expect(samples["keyward_last_run_exit_code{command=apply}"] == 4)

      _ = try manifest(fleet, [(["alice"], ["admin", "ann"])])
      let nothing = try await keyward(fleet, ["apply", path, "--auto-approve", "--detailed-exitcode"])
      #expect(nothing.status == 0, "\(nothing.all)")

      _ = try manifest(fleet, [(["alice"], ["admin", "ann", "ben"])])
      let changes = try await keyward(fleet, ["apply", path, "--auto-approve", "--detailed-exitcode"])
      #expect(changes.status == 2, "\(changes.all)")
      #expect(try await fleet.ssh("alice", 1, identity: fleet.dir + "/ben").status == 0)

      // Without the flag: 0 and 1, as before.
      _ = try manifest(fleet, [(["alice"], ["admin", "ann"])], extraHosts: ghost)
      let plain = try await keyward(fleet, ["apply", path, "--auto-approve"])
      #expect(plain.status == 1, "\(plain.all)")
    }
  }
}

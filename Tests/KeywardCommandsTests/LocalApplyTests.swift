import Foundation
import KeywardTestSupport
import Testing

/// End to end through the real `keyward` binary, on a `--root` tree (pull mode).
@Suite("plan and apply --local --root")
struct LocalApplyTests {
  let root: TemporaryRoot
  let manifest: String

  init() throws {
    root = try TemporaryRoot()
    manifest = root.path + "/keys.yaml"
    try Self.manifestText(keys: ["alice"]).write(toFile: manifest, atomically: true, encoding: .utf8)
  }

  static func manifestText(keys: [String], mode: String = "exclusive") -> String {
    """
    version: 1
    keys:
      alice: \(TestKeys.alice)
      bob: \(TestKeys.bob)
    hosts:
      img: {}
    access:
      - hosts: [img]
        users: [alice, bob]
        keys: [\(keys.joined(separator: ", "))]
        mode: \(mode)

    """
  }

  func keyward(_ args: [String], env: [String: String] = [:]) throws -> KeywardProcess.Result {
    try KeywardProcess.run(args + ["--local", "--root", root.path, "--host", "img"], environment: env)
  }

  @Test func planApplyThenNothingLeftToDo() throws {
    try root.put("bob", TestKeys.carol + "\n")
    let plan = try keyward(["plan", manifest, "--detailed-exitcode"])
    #expect(plan.status == 2, "\(plan.stderr)")
    #expect(plan.stdout.contains("Plan: 2 to add, 0 to update, 1 to remove on 2 targets (0 unchanged)."))

    let apply = try keyward(["apply", manifest, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    #expect(apply.stdout.contains("Apply: 2 applied"))
    #expect(root.readKeys("alice") == TestKeys.alice + "\n")
    #expect(root.readKeys("bob") == TestKeys.alice + "\n")
    #expect(root.mode(root.path + "/home/alice/.ssh") == 0o700)
    #expect(root.mode(root.file("alice")) == 0o600)

    let before = root.inode(root.file("bob"))
    let again = try keyward(["plan", manifest, "--detailed-exitcode"])
    #expect(again.status == 0, "\(again.stdout)")
    #expect(again.stdout.contains("No changes."))
    let second = try keyward(["apply", manifest, "--auto-approve"])
    #expect(second.status == 0)
    let after = root.inode(root.file("bob"))
    #expect(before?.0 == after?.0 && before?.1 == after?.1, "the file was rewritten")
  }

  @Test func aSavedPlanRefusesTheTargetEditedSinceAndAppliesTheOthers() throws {
    let planFile = root.path + "/plan.json"
    let plan = try keyward(["plan", manifest, "--out", planFile])
    #expect(plan.status == 0, "\(plan.stderr)")
    try root.put("alice", "# edited by hand after the plan\n")

    let show = try KeywardProcess.run(["show", planFile, "--format", "json"])
    #expect(show.status == 0)
    #expect(show.stdout.contains("\"format_version\" : 1"))

    let apply = try keyward(["apply", planFile])
    #expect(apply.status == 1)
    #expect(
      apply.stdout.contains(
        "alice@img: stale: stale plan: alice@img changed since the plan was made; run plan again"))
    #expect(root.read("alice") == "# edited by hand after the plan\n")
    #expect(root.readKeys("bob") == TestKeys.alice + "\n")
  }

  @Test func aSymlinkedFileIsRefused() throws {
    try root.put("alice", "")
    let victim = root.path + "/etc/victim"
    try "do not touch\n".write(toFile: victim, atomically: false, encoding: .utf8)
    try FileManager.default.removeItem(atPath: root.file("alice"))
    try FileManager.default.createSymbolicLink(atPath: root.file("alice"), withDestinationPath: victim)
    let apply = try keyward(["apply", manifest, "--auto-approve"])
    #expect(apply.status == 1)
    #expect(apply.stdout.contains("is a symlink"))
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "do not touch\n")
    #expect(root.readKeys("bob") == TestKeys.alice + "\n")
  }

  @Test func aWriteKilledBeforeTheRenameLeavesTheOldFile() throws {
    try root.put("alice", TestKeys.bob + "\n")
    let killed = try keyward(
      ["apply", manifest, "--auto-approve"], env: ["KEYWARD_TEST_FAULT": "before-rename"])
    #expect(killed.status == 70)
    #expect(root.read("alice") == TestKeys.bob + "\n")
    let dir = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/alice/.ssh")
    #expect(dir.contains("authorized_keys"))
    #expect(
      dir.contains { $0.hasPrefix(".authorized_keys.keyward-tmp-") }, "the killed run left its temp file")
    // The next run converges and removes what the killed one left behind.
    let apply = try keyward(["apply", manifest, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    #expect(apply.stdout.contains("alice@img: warning: broke the lock"), "\(apply.stdout)")
    #expect(apply.stdout.contains("(its process is gone)"), "\(apply.stdout)")
    #expect(root.readKeys("alice") == TestKeys.alice + "\n")
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/alice/.ssh")
    #expect(!names.contains { $0.contains(".keyward-tmp") || $0.hasSuffix(".keyward-lock") }, "\(names)")
    #expect(names.contains { $0.hasPrefix("authorized_keys.keyward-backup.") })
  }

  @Test func applyWithoutATerminalNeedsAutoApprove() throws {
    let apply = try keyward(["apply", manifest])
    #expect(apply.status == 1)
    #expect(apply.stderr.contains("--auto-approve"))
    #expect(root.read("alice") == nil)
  }

  @Test func markdownAndJSONPlans() throws {
    let markdown = try keyward(["plan", manifest, "--format", "markdown"])
    #expect(markdown.stdout.hasPrefix("<!-- keyward plan part=1 of=1 digest=sha256:"))
    #expect(markdown.stdout.contains("### keyward plan"))
    #expect(markdown.stdout.contains("<code>img</code>: 2 targets, +2 ~0 \u{2212}0"))
    let json = try keyward(["plan", manifest, "--format", "json"])
    let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    #expect((object?["summary"] as? [String: Int])?["add"] == 2)
  }

  @Test func rollbackRestoresTheNewestBackupAfterShowingIt() throws {
    try root.put("alice", "# before keyward\n" + TestKeys.carol + "\n")
    let original = root.read("alice")
    #expect(try keyward(["apply", manifest, "--auto-approve"]).status == 0)
    #expect(root.readKeys("alice") == "# before keyward\n" + TestKeys.alice + "\n")
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/alice/.ssh")
    #expect(names.filter { $0.hasPrefix("authorized_keys.keyward-backup.") }.count == 1)

    let refused = try keyward(["rollback", "alice@img"])
    #expect(refused.status == 1)
    #expect(refused.stdout.contains("+ ssh-ed25519 \(TestKeys.key(TestKeys.carol).fingerprint)"))
    #expect(refused.stdout.contains("- ssh-ed25519 \(TestKeys.key(TestKeys.alice).fingerprint)"))
    #expect(root.readKeys("alice") == "# before keyward\n" + TestKeys.alice + "\n")

    let rollback = try keyward(["rollback", "alice@img", "--auto-approve"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    #expect(root.read("alice") == original)

    let none = try keyward(["rollback", "bob@img", "--auto-approve"])
    #expect(none.status == 1)
    #expect(none.stdout.contains("no keyward backup"))
  }

  @Test func backupsAreBoundedOldestFirst() throws {
    for round in 0..<4 {
      try Self.manifestText(keys: round % 2 == 0 ? ["alice"] : ["bob"])
        .write(toFile: manifest, atomically: true, encoding: .utf8)
      let apply = try keyward(["apply", manifest, "--auto-approve", "--backups", "2"])
      #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/alice/.ssh")
    #expect(names.filter { $0.hasPrefix("authorized_keys.keyward-backup.") }.count == 2, "\(names)")
  }

  @Test(
    .enabled(
      if: JSONSchemaChecker.isAvailable || JSONSchemaChecker.isCI,
      "needs python3 with jsonschema (required when CI=true)"))
  func planJSONAndPlanFilesMatchTheirSchema() throws {
    #expect(JSONSchemaChecker.isAvailable, "python3 with the jsonschema module is required in CI")
    try root.put("bob", TestKeys.carol + "\n")
    let json = try keyward(["plan", manifest, "--format", "json"])
    let planFile = root.path + "/plan.json"
    _ = try keyward(["plan", manifest, "--out", planFile])
    let saved = try String(contentsOfFile: planFile, encoding: .utf8)
    let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("schemas/plan.schema.json").path
    let results = try JSONSchemaChecker.check(schema: schema, [("json", json.stdout), ("plan file", saved)])
    #expect(results == ["ok json", "ok plan file"])
    // The schema is not a rubber stamp.
    let broken = json.stdout.replacingOccurrences(
      of: "\"action\" : \"add\"", with: "\"action\" : \"replace\"")
    #expect(
      try JSONSchemaChecker.check(schema: schema, [("broken", broken)]).first?.hasPrefix("invalid") == true)
  }
}

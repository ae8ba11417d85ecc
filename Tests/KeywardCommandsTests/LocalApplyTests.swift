import Foundation
import KeywardTestSupport
import Testing

/// End to end through the real `keyward` binary, on a `--root` tree (pull mode).
@Suite("plan and apply --local --root", .tags(.processes))
struct LocalApplyTests {
  let root: TemporaryRoot
  let manifest: String

  init() throws {
    root = try TemporaryRoot()
    manifest = try Self.writeManifest(keys: ["alice"], in: root)
  }

  /// The start of every manifest of the `--local --root` tests: keys alice and bob, host
  /// img, and `access:` with its rules to follow.
  static let manifestHeader = """
    version: 1
    keys:
      alice: \(TestKeys.alice)
      bob: \(TestKeys.bob)
    hosts:
      img: {}
    access:

    """

  static func manifestText(keys: [String], mode: String = "exclusive") -> String {
    manifestHeader + """
        - hosts: [img]
          users: [alice, bob]
          keys: [\(keys.joined(separator: ", "))]
          mode: \(mode)

      """
  }

  /// A `keys.yaml` in `root` granting `keys` (``manifestText(keys:mode:)``); its path.
  static func writeManifest(keys: [String], in root: TemporaryRoot) throws -> String {
    let path = root.path + "/keys.yaml"
    try manifestText(keys: keys).write(toFile: path, atomically: true, encoding: .utf8)
    return path
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
    #expect(
      String(decoding: FileManager.default.contents(atPath: planFile) ?? Data(), as: UTF8.self).contains(
        "\"format_version\" : 2"))

    let apply = try keyward(["apply", planFile])
    #expect(apply.status == 1)
    #expect(
      apply.stdout.contains(
        "alice@img: stale: alice@img changed since the plan was made; run plan again"))
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
    #expect(root.readKeys("alice") == TestKeys.bob + "\n")
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

    let refused = try keyward(["rollback", "alice@img", "--manifest", manifest])
    #expect(refused.status == 1)
    #expect(refused.stdout.contains("+ ssh-ed25519 \(TestKeys.key(TestKeys.carol).fingerprint)"))
    #expect(refused.stdout.contains("- ssh-ed25519 \(TestKeys.key(TestKeys.alice).fingerprint)"))
    #expect(root.readKeys("alice") == "# before keyward\n" + TestKeys.alice + "\n")

    let rollback = try keyward(["rollback", "alice@img", "--manifest", manifest, "--auto-approve"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    #expect(root.readKeys("alice") == original)

    let none = try keyward(["rollback", "bob@img", "--manifest", manifest, "--auto-approve"])
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
    // The plan file's schema knows the only modes keyward plans.
    let setuid = saved.replacingOccurrences(of: "\"file_mode\" : 384", with: "\"file_mode\" : 2559")
    #expect(setuid != saved)
    #expect(
      try JSONSchemaChecker.check(schema: schema, [("setuid", setuid)]).first?.hasPrefix("invalid") == true)
    // The schema is not a rubber stamp.
    let broken = json.stdout.replacingOccurrences(
      of: "\"action\" : \"add\"", with: "\"action\" : \"replace\"")
    #expect(
      try JSONSchemaChecker.check(schema: schema, [("broken", broken)]).first?.hasPrefix("invalid") == true)
  }
}

/// Saved plans through the real binary: signatures with the real ssh-keygen, tampered files,
/// the local host check, and the guards rollback goes through.
@Suite("saved plans: signatures, tampering, guards", .tags(.processes))
struct SavedPlanTests {
  let root: TemporaryRoot
  let manifest: String

  init() throws {
    root = try TemporaryRoot()
    manifest = try LocalApplyTests.writeManifest(keys: ["alice"], in: root)
  }

  func keyward(_ args: [String], host: String = "img") throws -> KeywardProcess.Result {
    try KeywardProcess.run(args + ["--local", "--root", root.path, "--host", host])
  }

  func sshKeygen(_ args: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ssh-keygen"] + args
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }

  @Test func aSignedPlanAppliesOnlyWithItsSignature() throws {
    let ci = root.path + "/ci_key"
    let other = root.path + "/other_key"
    #expect(try sshKeygen(["-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", ci]) == 0)
    #expect(try sshKeygen(["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", other]) == 0)
    let allowed = root.path + "/allowed_signers"
    let publicKey = try String(contentsOfFile: ci + ".pub", encoding: .utf8)
    try "ci@example.com \(publicKey)".write(toFile: allowed, atomically: true, encoding: .utf8)
    let planFile = root.path + "/plan.json"
    let plan = try keyward(["plan", manifest, "--out", planFile, "--sign-key", ci])
    #expect(plan.status == 0, "\(plan.stderr)")
    #expect(FileManager.default.fileExists(atPath: planFile + ".sig"))
    let verify = ["--allowed-signers", allowed, "--signer-identity", "ci@example.com"]
    var cases = 0

    // Show checks the signature too.
    let show = try KeywardProcess.run(["show", planFile] + verify)
    #expect(show.status == 0, "\(show.stderr)")
    #expect(show.stderr.contains("Good \"keyward-plan\" signature for ci@example.com"))
    cases += 1

    // A wrong identity, a signature by another key, and one for another namespace are refused.
    let wrongIdentity = try keyward([
      "apply", planFile, "--allowed-signers", allowed, "--signer-identity", "eve",
    ])
    #expect(wrongIdentity.status == 1)
    cases += 1
    let original = try Data(contentsOf: URL(fileURLWithPath: planFile + ".sig"))
    for (key, namespace) in [(other, "keyward-plan"), (ci, "git"), (ci, "file")] {
      try? FileManager.default.removeItem(atPath: planFile + ".sig")
      #expect(try sshKeygen(["-Y", "sign", "-f", key, "-n", namespace, planFile]) == 0)
      let apply = try keyward(["apply", planFile] + verify)
      #expect(apply.status == 1, "\(key) \(namespace)")
      #expect(
        apply.stderr.contains("is not a valid 'keyward-plan' signature by 'ci@example.com'"),
        "\(apply.stderr)")
      #expect(root.read("alice") == nil)
      cases += 1
    }
    try original.write(to: URL(fileURLWithPath: planFile + ".sig"))

    // The plan changed after signing (one space, digest still fine): refused.
    var bytes = try Data(contentsOf: URL(fileURLWithPath: planFile))
    bytes.append(0x20)
    try bytes.write(to: URL(fileURLWithPath: planFile))
    let modified = try keyward(["apply", planFile] + verify)
    #expect(modified.status == 1)
    #expect(root.read("alice") == nil)
    bytes.removeLast()
    try bytes.write(to: URL(fileURLWithPath: planFile))
    cases += 1

    // No signature at all.
    let unsigned = try keyward(["apply", planFile] + verify + ["--signature", root.path + "/missing.sig"])
    #expect(unsigned.status == 1)
    #expect(unsigned.stderr.contains("has no signature"))
    cases += 1

    // The reviewed plan, with its signature, applies.
    let apply = try keyward(["apply", planFile] + verify)
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    #expect(root.readKeys("alice") == TestKeys.alice + "\n")
    cases += 1
    print("plan signatures: \(cases) cases through ssh-keygen -Y sign/verify")
  }

  @Test func aTamperedPlanFileIsRefusedAndThePlanOfAnotherHostToo() throws {
    let planFile = root.path + "/plan.json"
    #expect(try keyward(["plan", manifest, "--out", planFile]).status == 0)
    let text = try String(contentsOfFile: planFile, encoding: .utf8)
    // Mode 4777 written in, digest not updated: refused.
    let tampered = text.replacingOccurrences(of: "\"file_mode\" : 384", with: "\"file_mode\" : 2559")
    #expect(tampered != text)
    try tampered.write(toFile: planFile, atomically: true, encoding: .utf8)
    let apply = try keyward(["apply", planFile])
    #expect(apply.status == 1)
    #expect(apply.stderr.contains("digest does not match"), "\(apply.stderr)")
    #expect(root.read("alice") == nil)
    // A plan made for host img is not applied on a machine that is h2.
    try text.write(toFile: planFile, atomically: true, encoding: .utf8)
    let elsewhere = try keyward(["apply", planFile], host: "h2")
    #expect(elsewhere.status == 1)
    #expect(
      elsewhere.stderr.contains("the plan has targets of another host ('alice@img', 'bob@img')"),
      "\(elsewhere.stderr)")
    #expect(root.read("alice") == nil)
  }

  @Test func rollbackDoesNotRestoreARevokedKey() throws {
    try root.put("alice", TestKeys.carol + "\n" + TestKeys.bob + "\n")
    #expect(try keyward(["apply", manifest, "--auto-approve"]).status == 0)
    #expect(root.readKeys("alice") == TestKeys.alice + "\n")
    // carol is revoked since: the backup still holds her key.
    try
      (LocalApplyTests.manifestText(keys: ["alice"])
      + "revoked:\n  - key: \(TestKeys.carol)\n    reason: laptop stolen\n")
      .write(toFile: manifest, atomically: true, encoding: .utf8)
    let rollback = try keyward(["rollback", "alice@img", "--manifest", manifest, "--auto-approve"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    #expect(rollback.stdout.contains("is revoked (laptop stolen); it is not restored"))
    #expect(root.readKeys("alice") == TestKeys.bob + "\n")
    #expect(!(root.read("alice") ?? "").contains(TestKeys.carol))
    // Without manifests there is no rollback at all.
    let bare = try keyward(["rollback", "alice@img", "--auto-approve"])
    #expect(bare.status != 0)
    #expect(bare.stderr.contains("rollback needs --manifest"))
  }

  @Test func anUngrantedProtectedKeyIsKeptWithAWarning() throws {
    try root.put("alice", TestKeys.dave + "\n" + TestKeys.bob + "\n")
    let text = """
      version: 1
      keys:
        alice: \(TestKeys.alice)
        dave: { key: \(TestKeys.dave), protected: true }
      hosts:
        img: {}
      access:
        - hosts: [img]
          users: [alice]
          keys: [alice]

      """
    try text.write(toFile: manifest, atomically: true, encoding: .utf8)
    let apply = try keyward(["apply", manifest, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    #expect(
      apply.stdout.contains(
        "! protected key 'dave' (\(TestKeys.key(TestKeys.dave).fingerprint)) on line 1 is kept: protected keys"
          + " are never removed (it would have been: defined in the manifests but not granted here by any rule)"
      ))
    #expect(root.readKeys("alice") == TestKeys.dave + "\n" + TestKeys.alice + "\n")
  }
}

/// Paths a rule might use to reach beyond its user, through the real binary on a `--root`
/// tree: each is refused with its reason, and no file outside the target user's reach changes.
@Suite("hostile paths --local --root", .tags(.processes))
struct HostilePathTests {
  struct Attack: Sendable, CustomTestStringConvertible {
    var name: String
    var path: String
    var outsideHome = false
    var said: String
    var testDescription: String { name }
  }

  static let attacks: [Attack] = [
    Attack(name: "climb out of the root", path: "../../../../etc/passwd", said: "has a '..' component"),
    Attack(
      name: "bob's file via %h/..", path: "%h/../bob/.ssh/authorized_keys", said: "has a '..' component"),
    Attack(name: "root's file", path: "/root/.ssh/authorized_keys", said: "[path-outside-home]"),
    Attack(name: "/etc/passwd", path: "/etc/passwd", said: "[path-outside-home]"),
    Attack(
      name: "bob's file, opted in", path: "/home/bob/.ssh/authorized_keys", outsideHome: true,
      said: "[ownership-refused]"),
  ]

  @Test(arguments: attacks)
  func refused(_ attack: Attack) throws {
    let root = try TemporaryRoot()
    try root.put("bob", TestKeys.bob + "\n")
    try FileManager.default.createDirectory(
      atPath: root.path + "/root/.ssh", withIntermediateDirectories: true)
    try (TestKeys.ci + "\n").write(
      toFile: root.path + "/root/.ssh/authorized_keys", atomically: true, encoding: .utf8)
    let watch = [root.file("bob"), root.path + "/etc/passwd", root.path + "/root/.ssh/authorized_keys"]
    let before = watch.map { FileManager.default.contents(atPath: $0) }
    let manifest = root.path + "/keys.yaml"
    try
      (LocalApplyTests.manifestHeader + """
          - hosts: [img]
            users: [alice]
            keys: [alice]
            path: '\(attack.path)'
            outside_home: \(attack.outsideHome)
          - hosts: [img]
            users: [bob]
            keys: [bob]

        """).write(toFile: manifest, atomically: true, encoding: .utf8)
    let apply = try KeywardProcess.run([
      "apply", manifest, "--auto-approve", "--local", "--root", root.path, "--host", "img",
    ])
    #expect(apply.status != 0)
    #expect((apply.stdout + apply.stderr).contains(attack.said), "\(apply.stdout)\(apply.stderr)")
    #expect(watch.map { FileManager.default.contents(atPath: $0) } == before)
    print("hostile path refused: \(attack.name)")
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@Suite("Planner")
struct PlannerTests {
  static let now = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21
  let id = TargetID(user: "deploy", host: "web1")

  func observed(
    _ text: String?, fileMode: UInt32 = 0o600, dirMode: UInt32? = 0o700, homeMode: UInt32 = 0o755,
    login: String? = nil
  ) -> ObservedTarget {
    ObservedTarget(
      id: id, content: text.map { Array($0.utf8) }, absolutePath: "/home/deploy/.ssh/authorized_keys",
      home: "/home/deploy", uid: 1000, gid: 1000,
      file: text == nil ? nil : PathStatus(isRegularFile: true, mode: fileMode, uid: 1000, gid: 1000),
      directory: dirMode.map { PathStatus(isDirectory: true, mode: $0, uid: 1000, gid: 1000) },
      homeStatus: PathStatus(isDirectory: true, mode: homeMode, uid: 1000, gid: 1000),
      loginKeyFingerprint: login)
  }

  func plan(
    _ entries: [DesiredEntry], mode: ManagementMode = .exclusive, observed: ObservedTarget,
    revoked: [Revocation] = [], protected: Set<String> = [], options: PlannerOptions? = nil
  ) -> TargetPlan {
    let target = DesiredTarget(id: id, mode: mode, entries: entries)
    let desired = DesiredState(targets: [target], revoked: revoked, protectedFingerprints: protected)
    let planner = Planner(options: options ?? PlannerOptions(now: Self.now))
    return planner.plan(desired, observed: [id: .success(observed)]).targets[0]
  }

  /// The new file without keyward's record line (tested in `OriginTests`).
  func text(_ plan: TargetPlan) -> String {
    String(decoding: WriteRecord.strip(plan.newContent ?? []), as: UTF8.self)
  }

  @Test func addsToAMissingFileAndCreatesTheDirectory() {
    let result = plan([TestKeys.entry("alice", TestKeys.alice)], observed: observed(nil, dirMode: nil))
    #expect(result.status == .changes)
    #expect(result.changes.map(\.action) == [.add])
    #expect(result.fileActions == [.createDirectory(mode: 0o700), .createFile(mode: 0o600)])
    #expect(result.directoryMode == 0o700)
    #expect(text(result) == TestKeys.alice + "\n")
    #expect(result.observedDigest == ContentDigest.absent)
  }

  @Test func aMatchingFileIsUnchangedAndNotWritten() {
    let file = "# team keys\n" + TestKeys.alice + "\n\n" + TestKeys.bob + "\n"
    let result = plan(
      [TestKeys.entry("bob", TestKeys.bob), TestKeys.entry("alice", TestKeys.alice)], observed: observed(file)
    )
    #expect(result.status == .unchanged)
    #expect(result.changes.isEmpty)
    #expect(result.newContent == nil)
  }

  @Test func exclusiveRemovesUndeclaredKeysAndKeepsCommentsInOrder() {
    let file = "# header\n" + TestKeys.carol + "\n\n# alice below\n" + TestKeys.alice + "\n"
    let result = plan([TestKeys.entry("alice", TestKeys.alice)], observed: observed(file))
    #expect(result.changes.map(\.action) == [.remove])
    #expect(result.changes[0].line == 2)
    #expect(result.changes[0].keyName == nil)
    #expect(text(result) == "# header\n\n# alice below\n" + TestKeys.alice + "\n")
  }

  @Test func additiveKeepsForeignKeysAndAppendsNewOnesInManifestOrder() {
    let file = TestKeys.carol + "\n"
    let result = plan(
      [TestKeys.entry("bob", TestKeys.bob), TestKeys.entry("alice", TestKeys.alice)], mode: .additive,
      observed: observed(file))
    #expect(result.changes.map(\.action) == [.add, .add])
    #expect(result.changes.map(\.keyName) == ["bob", "alice"])
    #expect(text(result) == TestKeys.carol + "\n" + TestKeys.bob + "\n" + TestKeys.alice + "\n")
  }

  @Test(arguments: [ManagementMode.exclusive, .additive])
  func revokedKeysLeaveInEveryMode(mode: ManagementMode) {
    let carol = TestKeys.key(TestKeys.carol)
    let file = TestKeys.carol + "\n" + TestKeys.alice + "\n"
    let result = plan(
      [TestKeys.entry("alice", TestKeys.alice)], mode: mode, observed: observed(file),
      revoked: [Revocation(fingerprint: carol.fingerprint, keyName: "carol", reason: "laptop stolen")])
    #expect(result.changes.map(\.action) == [.remove])
    #expect(result.changes[0].reason == "revoked: laptop stolen")
    #expect(result.changes[0].keyName == "carol")
    #expect(text(result) == TestKeys.alice + "\n")
  }

  @Test func expiredKeysAreRemovedNotAddedAndSoonExpiringOnesFlagged() {
    let past = Self.now.addingTimeInterval(-86_400)
    let soon = Self.now.addingTimeInterval(5 * 86_400)
    let later = Self.now.addingTimeInterval(60 * 86_400)
    let file = TestKeys.alice + "\n"
    let result = plan(
      [
        TestKeys.entry("alice", TestKeys.alice, expires: past),
        TestKeys.entry("bob", TestKeys.bob, expires: past),
        TestKeys.entry("carol", TestKeys.carol, expires: soon),
        TestKeys.entry("dave", TestKeys.dave, expires: later),
      ], observed: observed(file))
    #expect(result.changes.map(\.action) == [.remove, .add, .add])
    #expect(result.changes[0].reason.hasPrefix("expired on "))
    #expect(result.changes.compactMap(\.keyName) == ["alice", "carol", "dave"])
    #expect(result.warnings.contains { $0.contains("'carol' expires on") })
    #expect(!result.warnings.contains { $0.contains("'dave'") })
  }

  @Test func optionOnlyChangeIsAnUpdateInPlace() {
    let file = TestKeys.ci + "\n" + TestKeys.alice + "\n"
    let options = [KeyOption(name: "restrict"), KeyOption(name: "command", value: "/usr/local/bin/deploy")]
    let result = plan(
      [TestKeys.entry("alice", TestKeys.alice), TestKeys.entry("ci", TestKeys.ci, options: options)],
      observed: observed(file))
    #expect(result.changes.map(\.action) == [.update])
    #expect(result.changes[0].line == 1)
    #expect(result.changes[0].newOptions == "restrict,command=\"/usr/local/bin/deploy\"")
    let lines = text(result).split(separator: "\n")
    #expect(lines[0].hasPrefix("restrict,command=\"/usr/local/bin/deploy\" ecdsa-sha2-nistp256 "))
    #expect(lines[1] == TestKeys.alice)
  }

  @Test func optionNamesCompareCaseInsensitively() {
    let file = "NO-PTY " + TestKeys.alice + "\n"
    let result = plan(
      [TestKeys.entry("alice", TestKeys.alice, options: [KeyOption(name: "no-pty")])],
      observed: observed(file))
    #expect(result.status == .unchanged)
  }

  @Test func aStrayDuplicateLineIsRemovedButDeliberateDuplicatesStay() {
    let file = TestKeys.alice + "\n" + TestKeys.alice + "\n"
    let single = plan([TestKeys.entry("alice", TestKeys.alice)], observed: observed(file))
    #expect(single.changes.map(\.action) == [.remove])
    #expect(single.changes[0].line == 2)
    #expect(single.changes[0].reason == "duplicate line for a declared key")

    let office = [KeyOption(name: "from", value: "10.0.0.0/8")]
    let vpn = [KeyOption(name: "from", value: "192.168.0.0/16"), KeyOption(name: "no-pty")]
    let twice = plan(
      [
        TestKeys.entry("alice", TestKeys.alice, options: office),
        TestKeys.entry("alice", TestKeys.alice, options: vpn),
      ], observed: observed(nil))
    #expect(twice.changes.map(\.action) == [.add, .add])
    let again = plan(
      [
        TestKeys.entry("alice", TestKeys.alice, options: office),
        TestKeys.entry("alice", TestKeys.alice, options: vpn),
      ], observed: observed(text(twice)))
    #expect(again.status == .unchanged)
  }

  @Test func protectedKeysAreNeverRemovedButKeptWithAWarning() {
    let carol = TestKeys.key(TestKeys.carol)
    let file = TestKeys.carol + "\n" + TestKeys.bob + "\n"
    let result = plan(
      [TestKeys.entry("alice", TestKeys.alice)], observed: observed(file), protected: [carol.fingerprint])
    // The target is still planned: bob leaves, alice comes, carol (protected, not granted) stays.
    #expect(result.status == .changes)
    #expect(result.changes.map(\.action) == [.remove, .add])
    #expect(!result.changes.contains { $0.fingerprint == carol.fingerprint })
    #expect(text(result) == TestKeys.carol + "\n" + TestKeys.alice + "\n")
    #expect(
      result.warnings == [
        "protected key (\(carol.fingerprint)) on line 1 is kept: protected keys are never removed"
          + " (it would have been: not in the manifests (exclusive mode))"
      ])
    // Revoked or expired, a protected key still stays.
    let revoked = plan(
      [TestKeys.entry("bob", TestKeys.bob)], observed: observed(file),
      revoked: [
        Revocation(fingerprint: carol.fingerprint, reason: "stolen")
      ], protected: [carol.fingerprint])
    #expect(revoked.status == .unchanged)
    #expect(revoked.warnings.first?.contains("it would have been: revoked: stolen") == true)
    let rendered = TextPlanRenderer().render(Plan(targets: [revoked]))
    #expect(rendered.contains("! protected key (\(carol.fingerprint)) on line 1 is kept"))
  }

  @Test func theLoginKeyIsNotRemovedUnlessAllowed() {
    let bob = TestKeys.key(TestKeys.bob)
    let file = TestKeys.bob + "\n" + TestKeys.alice + "\n"
    let refused = plan(
      [TestKeys.entry("alice", TestKeys.alice)], observed: observed(file, login: bob.fingerprint))
    #expect(refused.status == .error)
    #expect(refused.error?.contains("--allow-self-removal") == true)
    let allowed = plan(
      [TestKeys.entry("alice", TestKeys.alice)], observed: observed(file, login: bob.fingerprint),
      options: PlannerOptions(now: Self.now, allowSelfRemoval: true))
    #expect(allowed.status == .changes)
  }

  @Test func removingEveryKeyNeedsAllowEmpty() {
    let file = TestKeys.alice + "\n"
    let refused = plan([], observed: observed(file))
    #expect(refused.status == .error)
    #expect(refused.error?.contains("--allow-empty") == true)
    let allowed = plan([], observed: observed(file), options: PlannerOptions(now: Self.now, allowEmpty: true))
    #expect(allowed.status == .changes)
    #expect(WriteRecord.strip(allowed.newContent ?? [0x0A]) == [])
  }

  @Test func tooManyRemovalsRefuseTheWholePlan() {
    let file = TestKeys.carol + "\n" + TestKeys.dave + "\n" + TestKeys.alice + "\n"
    let target = DesiredTarget(id: id, mode: .exclusive, entries: [TestKeys.entry("alice", TestKeys.alice)])
    let planner = Planner(options: PlannerOptions(now: Self.now, maxRemovals: 1))
    let result = planner.plan(DesiredState(targets: [target]), observed: [id: .success(observed(file))])
    #expect(result.errors.count == 1)
    #expect(result.errors[0].contains("removes 2 keys, more than the limit of 1"))
    #expect(result.hasErrors)
  }

  @Test func aFailedFetchIsAnErrorNeverARemoveEverything() {
    let target = DesiredTarget(id: id, mode: .exclusive, entries: [])
    let failure = TransportError(code: .unreachable, host: "web1", step: .connect, message: "timed out")
    let result = Planner(options: PlannerOptions(now: Self.now))
      .plan(DesiredState(targets: [target]), observed: [id: .failure(failure)])
    #expect(result.targets[0].status == .error)
    #expect(result.targets[0].changes.isEmpty)
    #expect(result.targets[0].error == failure.description)
  }

  @Test func looseModesAreFixedWithoutTouchingTheBytes() {
    let file = TestKeys.alice  // no final newline: kept as is
    let result = plan(
      [TestKeys.entry("alice", TestKeys.alice)], observed: observed(file, fileMode: 0o664, dirMode: 0o775))
    #expect(result.status == .changes)
    #expect(result.changes.isEmpty)
    #expect(
      result.fileActions == [.fixDirectoryMode(from: 0o775, to: 0o700), .fixFileMode(from: 0o664, to: 0o600)])
    #expect(result.newContent == Array(file.utf8))
    #expect(result.fileMode == 0o600)
  }

  @Test func aStricterModeIsKept() {
    let file = TestKeys.bob + "\n"
    let result = plan([TestKeys.entry("alice", TestKeys.alice)], observed: observed(file, fileMode: 0o400))
    #expect(result.fileMode == 0o400)
  }

  @Test func aWorldWritableHomeIsAWarningNotAChange() {
    let file = TestKeys.alice + "\n"
    let result = plan([TestKeys.entry("alice", TestKeys.alice)], observed: observed(file, homeMode: 0o777))
    #expect(result.status == .unchanged)
    #expect(result.warnings.contains { $0.contains("StrictModes") })
  }

  @Test func symlinksAreRefusedUnlessFollowed() {
    var state = observed(TestKeys.alice + "\n")
    state.file?.isSymlink = true
    state.file?.isRegularFile = false
    let result = plan([TestKeys.entry("alice", TestKeys.alice)], observed: state)
    #expect(result.status == .error)
    #expect(result.error?.contains("is a symlink") == true)
  }

  @Test func planningIsDeterministic() {
    let file = TestKeys.carol + "\n# c\n" + TestKeys.alice + "\n"
    let entries = [TestKeys.entry("bob", TestKeys.bob), TestKeys.entry("alice", TestKeys.alice)]
    let a = plan(entries, observed: observed(file))
    let b = plan(entries, observed: observed(file))
    #expect(a == b)
    #expect(TextPlanRenderer().render(Plan(targets: [a])) == TextPlanRenderer().render(Plan(targets: [b])))
  }
}

/// The guards every target goes through, whatever the rule's user.
@Suite("Planner guards on every path")
struct PlannerGuardTests {
  static let now = Date(timeIntervalSince1970: 1_790_000_000)
  static let admin = TestKeys.key(TestKeys.ci).fingerprint

  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var id = TargetID(user: "alice", host: "web1")
    var absolutePath = "/home/alice/.ssh/authorized_keys"
    var outsideHome = false
    var actAsRoot = false
    var actsAsRoot = false
    var homeExists = true
    var fileUID: UInt32 = 1000
    var dirUID: UInt32 = 1000
    var loginUser: String? = "root"
    var loginHome: String? = "/root"
    /// The status and the start of the error, or the file action expected.
    var status: TargetStatus
    var expected: String
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "plain", status: .changes, expected: "+1"),
    Case(
      name: "a missing home is an error at plan time", homeExists: false, status: .error,
      expected: "home directory '/home/alice' of 'alice' does not exist"),
    Case(
      name: "a root-owned file becomes the user's, and the plan says so", fileUID: 0, status: .changes,
      expected: "file owner uid 0 -> 1000"),
    Case(
      name: "another user's file is refused", fileUID: 1001, status: .error,
      expected: "/home/alice/.ssh/authorized_keys belongs to uid 1001"),
    Case(
      name: "another user's directory is refused", dirUID: 1001, status: .error,
      expected: "the directory of /home/alice/.ssh/authorized_keys belongs to uid 1001"),
    Case(
      name: "a path outside home is refused without the opt-in",
      id: TargetID(user: "alice", host: "web1", path: "/etc/keys/alice"), absolutePath: "/etc/keys/alice",
      status: .error, expected: "the path '/etc/keys/alice' is outside the home directory"),
    Case(
      name: "with the opt-in it is planned",
      id: TargetID(user: "alice", host: "web1", path: "/etc/keys/alice"), absolutePath: "/etc/keys/alice",
      outsideHome: true, status: .changes, expected: "+1"),
    Case(
      name: "the login account's file keeps the login key, whoever the rule is for",
      id: TargetID(user: "alice", host: "web1", path: "/root/.ssh/authorized_keys"),
      absolutePath: "/root/.ssh/authorized_keys", outsideHome: true, status: .error,
      expected: "refusing to remove ssh-key 'ci'"),
    Case(
      name: "an expanded '..' is refused",
      absolutePath: "/home/alice/../root/.ssh/authorized_keys", status: .error, expected: "'..' component"),
    Case(
      name: "acting as root needs the opt-in", actsAsRoot: true, status: .error,
      expected: "this host cannot act as 'alice'"),
    Case(
      name: "acting as root with the opt-in", actAsRoot: true, actsAsRoot: true, status: .changes,
      expected: "+1"),
  ]

  @Test(arguments: cases)
  func guardCase(_ item: Case) {
    let file = TestKeys.ci + "\n"
    let target = DesiredTarget(
      id: item.id, mode: .exclusive, entries: [TestKeys.entry("alice", TestKeys.alice)],
      allowOutsideHome: item.outsideHome, actAsRoot: item.actAsRoot)
    var observed = ObservedTarget(
      id: item.id, content: Array(file.utf8), absolutePath: item.absolutePath, home: "/home/alice", uid: 1000,
      gid: 1000, file: PathStatus(isRegularFile: true, mode: 0o600, uid: item.fileUID, gid: 1000),
      directory: PathStatus(isDirectory: true, mode: 0o700, uid: item.dirUID, gid: 1000),
      homeStatus: item.homeExists ? PathStatus(isDirectory: true, mode: 0o755, uid: 1000, gid: 1000) : nil,
      loginKeyFingerprint: Self.admin)
    observed.loginUser = item.loginUser
    observed.loginHome = item.loginHome
    observed.actsAsRoot = item.actsAsRoot
    let desired = DesiredState(targets: [target])
    let result = Planner(options: PlannerOptions(now: Self.now)).plan(
      desired, observed: [item.id: .success(observed)]
    )
    .targets[0]
    #expect(result.status == item.status, "\(result.error ?? "")")
    if item.status == .error {
      let error = (result.error ?? "").replacingOccurrences(of: Self.admin, with: "ssh-key")
      #expect(
        error.contains(item.expected.replacingOccurrences(of: "ssh-key 'ci'", with: "ssh-key")), "\(error)")
    } else if item.expected.hasPrefix("+") {
      #expect(result.count(.add) == 1)
      #expect(result.runsAsRoot == item.actsAsRoot)
    } else {
      #expect(result.fileActions.map(\.summary).contains(item.expected), "\(result.fileActions)")
      #expect(TextPlanRenderer().render(Plan(targets: [result])).contains("* " + item.expected))
    }
  }

  @Test func twoTargetsOnOneFileAreBothRefused() {
    let alice = TargetID(user: "alice", host: "web1", path: "/home/bob/.ssh/authorized_keys")
    let bob = TargetID(user: "bob", host: "web1")
    let targets = [alice, bob].map {
      DesiredTarget(
        id: $0, mode: .exclusive, entries: [TestKeys.entry("alice", TestKeys.alice)], allowOutsideHome: true)
    }
    var observed: [TargetID: Result<ObservedTarget, TransportError>] = [:]
    for (id, uid, home) in [(alice, UInt32(1000), "/home/alice"), (bob, UInt32(1001), "/home/bob")] {
      observed[id] = .success(
        ObservedTarget(
          id: id, content: nil, absolutePath: "/home/bob/.ssh/authorized_keys", home: home, uid: uid,
          gid: uid,
          directory: PathStatus(isDirectory: true, mode: 0o700, uid: 1001, gid: 1001),
          homeStatus: PathStatus(isDirectory: true, mode: 0o755, uid: uid, gid: uid)))
    }
    let plan = Planner(options: PlannerOptions(now: Self.now)).plan(
      DesiredState(targets: targets), observed: observed)
    #expect(plan.targets.allSatisfy { $0.status == .error })
    #expect(
      plan.targets.allSatisfy {
        $0.error?.contains("a write for one account would change another's access") == true
      })
  }

  @Test func theRenderingsSayWhichTargetsRunAsRoot() {
    var target = TargetPlan(
      id: TargetID(user: "alice", host: "web1"), mode: .exclusive, status: .changes, observedDigest: "absent",
      changes: [
        KeyChange(action: .add, fingerprint: "SHA256:x", type: "ssh-ed25519", keyName: "a", reason: "r")
      ],
      newContent: [])
    target.runsAsRoot = true
    let plan = Plan(targets: [target])
    #expect(TextPlanRenderer().render(plan).contains("alice@web1 (.ssh/authorized_keys, exclusive, as root)"))
    #expect(
      TextPlanRenderer().render(plan).contains(
        "Acting as root (act_as_root: the host cannot act as these users): alice@web1"))
    #expect(MarkdownPlanRenderer().render(plan).contains("**acting as root**"))
    #expect(JSONPlanRenderer().render(plan).contains("\"runs_as_root\" : true"))
  }
}

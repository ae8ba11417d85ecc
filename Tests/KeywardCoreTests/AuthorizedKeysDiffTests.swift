import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// The diff plans show, derived from two files' bytes: (old, new) -> changes.
@Suite("AuthorizedKeysDiff")
struct AuthorizedKeysDiffTests {
  static let names = [
    TestKeys.key(TestKeys.alice).fingerprint: "alice", TestKeys.key(TestKeys.bob).fingerprint: "bob",
    TestKeys.key(TestKeys.carol).fingerprint: "carol", TestKeys.key(TestKeys.dave).fingerprint: "dave",
  ]
  static let a = TestKeys.alice
  static let b = TestKeys.bob
  static let c = TestKeys.carol
  /// The key of `line` without its comment, so that a new comment is an update.
  static func bare(_ line: String) -> String { line.split(separator: " ").prefix(2).joined(separator: " ") }

  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var old: String?
    var new: String
    /// `-name@line`, `~name@line`, `+name`, `+L3:comment`, `-L2:blank`, in the diff's order.
    var changes: [String]
    var canonical: Bool = true
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "same bytes", old: a + "\n", new: a + "\n", changes: []),
    Case(name: "new file", old: nil, new: a + "\n" + b + "\n", changes: ["+alice", "+bob"]),
    Case(name: "empty new file", old: nil, new: "", changes: []),
    Case(name: "append", old: a + "\n", new: a + "\n" + b + "\n", changes: ["+bob"]),
    Case(
      name: "remove middle", old: a + "\n" + c + "\n" + b + "\n", new: a + "\n" + b + "\n",
      changes: ["-carol@2"]),
    Case(
      name: "comment change is an update", old: a + "\n", new: bare(a) + " laptop\n", changes: ["~alice@1"]),
    Case(
      name: "options change is an update", old: a + "\n", new: "restrict " + a + "\n", changes: ["~alice@1"]),
    Case(
      name: "whitespace-only rewrite is still an update", old: a + "\n",
      new: a.replacingOccurrences(of: " ", with: "  ") + "\n", changes: ["~alice@1"]),
    Case(
      name: "keys compare by material, not text", old: a + "\n",
      new: bare(a) + " other comment\n" + b + "\n", changes: ["~alice@1", "+bob"]),
    Case(name: "duplicate removed", old: a + "\n" + a + "\n", new: a + "\n", changes: ["-alice@2"]),
    Case(
      name: "second occurrence updated", old: a + "\n" + a + "\n", new: a + "\n" + "restrict " + a + "\n",
      changes: ["~alice@2"]),
    Case(
      name: "comments kept in place", old: "# head\n" + a + "\n\n# tail\n" + c + "\n",
      new: "# head\n" + a + "\n\n# tail\n", changes: ["-carol@5"]),
    Case(name: "comment added", old: a + "\n", new: a + "\n# note\n", changes: ["+L2:comment"]),
    Case(name: "blank removed", old: a + "\n\n" + b + "\n", new: a + "\n" + b + "\n", changes: ["-L2:blank"]),
    Case(
      name: "invalid line added", old: a + "\n", new: a + "\nnot-a-key AAAA\n", changes: ["+L2:invalid"]),
    Case(name: "final newline added", old: a, new: a + "\n", changes: [], canonical: true),
    Case(name: "final newline removed", old: a + "\n", new: a, changes: [], canonical: false),
    Case(
      name: "lines swapped", old: a + "\n" + b + "\n", new: b + "\n" + a + "\n", changes: [], canonical: false
    ),
    Case(
      name: "key inserted before others", old: a + "\n", new: b + "\n" + a + "\n", changes: ["+bob"],
      canonical: false),
    Case(name: "CRLF kept is no change", old: a + "\r\n", new: a + "\r\n", changes: []),
    Case(name: "CRLF dropped is an update", old: a + "\r\n", new: a + "\n", changes: ["~alice@1"]),
    Case(name: "everything removed", old: a + "\n" + b + "\n", new: "", changes: ["-alice@1", "-bob@2"]),
    // keyward's record line (`WriteRecord`) is bookkeeping, never a change to show.
    Case(
      name: "record written after the keys", old: a + "\n",
      new: a + "\n" + b + "\n" + record(a + "\n" + b + "\n"),
      changes: ["+bob"]),
    Case(
      name: "old record replaced", old: a + "\n" + record(a + "\n"),
      new: a + "\n" + b + "\n" + record(a + "\n" + b + "\n"), changes: ["+bob"]),
    Case(
      name: "old record dropped", old: a + "\n" + record(a + "\n"), new: a + "\n" + b + "\n",
      changes: ["+bob"]),
    Case(
      name: "a record that lies about the lines is shown", old: a + "\n",
      new: a + "\n" + b + "\n" + record(a + "\n"), changes: ["+bob", "+L3:comment"]),
    Case(
      name: "a record that is not last is shown", old: a + "\n", new: a + "\n" + record(a + "\n") + b + "\n",
      changes: ["+bob", "+L2:comment"]),
  ]

  /// The record line keyward writes after `body`.
  static func record(_ body: String) -> String {
    let lines = body.split(separator: "\n").map { Array($0.utf8) }
    return String(
      decoding: WriteRecord(body: Array(body.utf8), keyLines: lines, revision: "abc123").rendered,
      as: UTF8.self)
  }

  static func describe(_ diff: AuthorizedKeysDiff) -> [String] {
    diff.changes.map { change in
      let name = names[change.fingerprint] ?? change.fingerprint
      switch change.action {
      case .add: return "+\(name)"
      case .remove: return "-\(name)@\(change.line ?? 0)"
      case .update: return "~\(name)@\(change.line ?? 0)"
      }
    } + diff.lineChanges.map { "\($0.action.symbol)L\($0.line):\($0.kind.rawValue)" }
  }

  @Test(arguments: cases)
  func table(_ item: Case) {
    let diff = AuthorizedKeysDiff(old: item.old.map { Array($0.utf8) }, new: Array(item.new.utf8))
    #expect(Self.describe(diff) == item.changes)
    #expect(diff.isCanonical == item.canonical)
  }

  @Test func updatesCarryOldAndNewOptionsAndComments() {
    let diff = AuthorizedKeysDiff(
      old: Array(("from=\"10.0.0.1\" " + Self.a + "\n").utf8),
      new: Array(("restrict " + Self.bare(Self.a) + "\n").utf8))
    #expect(diff.changes.count == 1)
    let change = diff.changes[0]
    #expect(change.oldOptions == "from=\"10.0.0.1\"")
    #expect(change.newOptions == "restrict")
    #expect(change.oldComment == "alice@test")
    #expect(change.newComment == nil)
  }

  @Test func labelsOnlyAnnotateDerivedChanges() {
    let diff = AuthorizedKeysDiff(
      old: Array((Self.a + "\n").utf8), new: Array((Self.a + "\n" + Self.b + "\n").utf8))
    let bob = TestKeys.key(Self.b).fingerprint
    let labels = [
      KeyChange(action: .add, fingerprint: bob, type: "", keyName: "bob", reason: "granted by access[0]"),
      // A label for a change the bytes do not make is dropped.
      KeyChange(
        action: .remove, fingerprint: TestKeys.key(Self.a).fingerprint, type: "", keyName: "alice",
        reason: "lies", line: 1),
    ]
    let annotated = diff.annotated(with: labels, fallbackReason: "unexplained")
    #expect(annotated.map(\.keyName) == ["bob"])
    #expect(annotated.map(\.reason) == ["granted by access[0]"])
    #expect(diff.annotated(with: []).map(\.keyName) == [nil])
  }

  @Test func controlCharactersAreEscapedInLineText() {
    let diff = AuthorizedKeysDiff(old: Array("".utf8), new: Array("# \u{1B}[31mred\u{07}\n".utf8))
    #expect(diff.lineChanges.map(\.text) == ["# \\u{1b}[31mred\\u{7}"])
  }
}

/// The planner's change list is exactly the diff of the bytes it plans to write.
@Suite("Planner agrees with the diff")
struct PlannerDiffAgreementTests {
  static let now = Date(timeIntervalSince1970: 1_790_000_000)

  @Test func everyPlannerChangeListIsTheDiffOfItsBytes() {
    let keys = [TestKeys.alice, TestKeys.bob, TestKeys.carol, TestKeys.dave, TestKeys.ci]
    let optionsList: [[KeyOption]] = [
      [], [KeyOption(name: "restrict")], [KeyOption(name: "command", value: "/bin/true")],
    ]
    var planned = 0
    var generator = SplitMix(seed: 9)
    for _ in 0..<400 {
      // A random observed file: keys (some with options, some twice), comments, blanks.
      var lines: [String] = []
      for _ in 0..<generator.next(6) {
        switch generator.next(5) {
        case 0: lines.append("# comment \(generator.next(3))")
        case 1: lines.append("")
        default:
          let key = keys[generator.next(keys.count)]
          lines.append(generator.next(3) == 0 ? "restrict " + key : key)
        }
      }
      let file = generator.next(8) == 0 ? nil : lines.map { $0 + "\n" }.joined()
      var entries: [DesiredEntry] = []
      for (index, key) in keys.enumerated() where generator.next(2) == 0 {
        let expires = generator.next(6) == 0 ? Self.now.addingTimeInterval(-86_400) : nil
        entries.append(
          TestKeys.entry(
            "k\(index)", key, options: optionsList[generator.next(optionsList.count)], expires: expires))
      }
      let id = TargetID(user: "deploy", host: "web1")
      let mode: ManagementMode = generator.next(2) == 0 ? .exclusive : .additive
      let revoked =
        generator.next(3) == 0
        ? [Revocation(fingerprint: TestKeys.key(TestKeys.dave).fingerprint, reason: "gone")] : []
      let desired = DesiredState(
        targets: [DesiredTarget(id: id, mode: mode, entries: entries)], revoked: revoked)
      let observed = ObservedTarget(
        id: id, content: file.map { Array($0.utf8) }, absolutePath: "/home/deploy/.ssh/authorized_keys",
        home: "/home/deploy", uid: 1000, gid: 1000,
        file: file == nil ? nil : PathStatus(isRegularFile: true, mode: 0o600, uid: 1000, gid: 1000),
        directory: PathStatus(isDirectory: true, mode: 0o700, uid: 1000, gid: 1000),
        homeStatus: PathStatus(isDirectory: true, mode: 0o755, uid: 1000, gid: 1000))
      let plan = Planner(options: PlannerOptions(now: Self.now, allowEmpty: true)).plan(
        desired, observed: [id: .success(observed)]
      ).targets[0]
      guard plan.status == .changes, let new = plan.newContent else { continue }
      planned += 1
      let diff = AuthorizedKeysDiff(old: observed.content, new: new)
      #expect(
        diff.isCanonical,
        "the planner wrote a file its own diff cannot show: \(file ?? "(none)") -> \(String(decoding: new, as: UTF8.self))"
      )
      #expect(plan.changes.map(\.unlabelled) == diff.changes, "\(file ?? "(none)")")
      #expect(plan.lineChanges.isEmpty)
      #expect(plan.changes.allSatisfy { !$0.reason.isEmpty }, "a planner change without a reason")
    }
    print("planner/diff agreement: \(planned) planned targets compared")
    #expect(planned > 100)
  }
}

extension KeyChange {
  /// The change without its labels (what the diff derives).
  var unlabelled: KeyChange {
    var copy = self
    copy.keyName = nil
    copy.reason = ""
    copy.origin = nil  // a label too (intent, drift, unknown), not part of the diff
    return copy
  }
}

/// A small deterministic random generator for generated tests.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

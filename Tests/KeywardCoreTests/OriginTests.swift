import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// Drift told apart from intent: keyward writes a file (with its record), then the host, the
/// manifests or both change, and each change of the next plan is labelled.
@Suite("Change origins")
struct OriginTests {
  static let now = Date(timeIntervalSince1970: 1_790_000_000)
  static let id = TargetID(user: "deploy", host: "web1")
  static let keyNames = ["alice": TestKeys.alice, "bob": TestKeys.bob, "carol": TestKeys.carol]
    .reduce(into: [String: String]()) { $0[TestKeys.key($1.value).fingerprint] = $1.key }

  static func observed(_ content: [UInt8]?) -> ObservedTarget {
    ObservedTarget(
      id: id, content: content, absolutePath: "/home/deploy/.ssh/authorized_keys", home: "/home/deploy",
      uid: 1000, gid: 1000,
      file: content == nil ? nil : PathStatus(isRegularFile: true, mode: 0o600, uid: 1000, gid: 1000),
      directory: PathStatus(isDirectory: true, mode: 0o700, uid: 1000, gid: 1000),
      homeStatus: PathStatus(isDirectory: true, mode: 0o755, uid: 1000, gid: 1000))
  }

  static func plan(_ entries: [DesiredEntry], over content: [UInt8]?, mode: ManagementMode = .exclusive)
    -> TargetPlan
  {
    let planner = Planner(options: PlannerOptions(now: now, revision: "0123abc"))
    return planner.plan(
      DesiredTarget(id: id, mode: mode, entries: entries), observed: observed(content), revoked: [:],
      protected: [], keyNames: keyNames)
  }

  /// The file keyward writes for `entries` on an empty account.
  static func written(_ entries: [DesiredEntry]) -> [UInt8] {
    plan(entries, over: nil).newContent ?? []
  }

  static let alice = TestKeys.entry("alice", TestKeys.alice)
  static let bob = TestKeys.entry("bob", TestKeys.bob)
  static let aliceNoPTY = TestKeys.entry("alice", TestKeys.alice, options: [KeyOption(name: "no-pty")])

  static func appending(_ content: [UInt8], _ line: String) -> [UInt8] { content + Array((line + "\n").utf8) }
  static func replacing(_ content: [UInt8], _ old: String, _ new: String) -> [UInt8] {
    Array(String(decoding: content, as: UTF8.self).replacingOccurrences(of: old, with: new).utf8)
  }

  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    var before: [DesiredEntry]?  // what keyward wrote (nil: the file is not keyward's)
    var edit: @Sendable ([UInt8]) -> [UInt8]?  // what happened on the host
    var after: [DesiredEntry]  // the manifests now
    var mode: ManagementMode = .exclusive
    var expected: [String]  // "action name origin"
    var history: FileHistory
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "a key granted in the manifests is intent", before: [alice], edit: { $0 }, after: [alice, bob],
      expected: ["add bob intent"], history: .asWritten),
    Case(
      name: "a key added by hand is drift", before: [alice], edit: { appending($0, TestKeys.carol) },
      after: [alice], expected: ["remove carol drift"], history: .changed),
    Case(
      name: "both in one run", before: [alice], edit: { appending($0, TestKeys.carol) }, after: [alice, bob],
      expected: ["remove carol drift", "add bob intent"], history: .changed),
    Case(
      name: "a managed key deleted by hand comes back as drift", before: [alice, bob],
      edit: { replacing($0, TestKeys.alice + "\n", "") }, after: [alice, bob], expected: ["add alice drift"],
      history: .changed),
    Case(
      name: "options edited by hand are drift", before: [alice],
      edit: {
        replacing(
          $0, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHQ", "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHQ")
      },
      after: [alice], expected: ["update alice drift"], history: .changed),
    Case(
      name: "options changed in the manifests are intent, even on a drifted file", before: [alice],
      edit: { appending($0, "# a note added by hand") }, after: [aliceNoPTY],
      expected: ["update alice intent"],
      history: .changed),
    Case(
      name: "a key dropped from its rule is intent and named", before: [alice, bob], edit: { $0 },
      after: [alice], expected: ["remove bob intent"], history: .asWritten),
    Case(
      name: "a file keyward never wrote has unknown history", before: nil,
      edit: { _ in Array((TestKeys.alice + "\n" + TestKeys.carol + "\n").utf8) }, after: [alice],
      expected: ["remove carol unknown"], history: .unrecorded),
    Case(
      name: "a removed record makes history unknown", before: [alice],
      edit: { WriteRecord.strip($0) + Array((TestKeys.carol + "\n").utf8) }, after: [alice],
      expected: ["remove carol unknown"], history: .unrecorded),
    Case(
      name: "a missing file has unknown history", before: nil, edit: { _ in nil }, after: [alice],
      expected: ["add alice unknown"], history: .unrecorded),
    Case(
      name: "additive mode keeps a hand-added key and says the file drifted", before: [alice],
      edit: { appending($0, TestKeys.carol) }, after: [alice], mode: .additive, expected: [],
      history: .changed),
    Case(
      name: "a duplicate line of a managed key is drift", before: [alice],
      edit: { appending($0, TestKeys.alice) },
      after: [alice], expected: ["remove alice drift"], history: .changed),
  ]

  @Test(arguments: cases)
  func origins(_ c: Case) {
    let start = c.before.map { Self.written($0) } ?? []
    let content = c.edit(start)
    let result = Self.plan(c.after, over: content, mode: c.mode)
    let got = result.changes.map {
      "\($0.action.rawValue) \($0.keyName ?? "?") \($0.origin?.rawValue ?? "nil")"
    }
    #expect(got == c.expected)
    #expect(result.history == c.history)
  }

  @Test func aKeyNoLongerGrantedIsNamedNeverUnknown() {
    let result = Self.plan([Self.alice], over: Self.written([Self.alice, Self.bob]))
    #expect(result.changes.count == 1)
    #expect(result.changes[0].keyName == "bob")
    #expect(result.changes[0].reason == "no longer granted by any rule")
    let byHand = Self.plan([Self.alice], over: Self.appending(Self.written([Self.alice]), TestKeys.bob))
    #expect(byHand.changes[0].keyName == "bob")
    #expect(byHand.changes[0].origin == .drift)
    #expect(
      byHand.changes[0].reason
        == "defined in the manifests but not granted here by any rule (added on the host)")
    let stranger = Self.plan([Self.alice], over: Self.appending(Self.written([Self.alice]), TestKeys.dave))
    #expect(stranger.changes[0].keyName == nil)
    #expect(stranger.changes[0].reason == "not in the manifests (exclusive mode)")
  }

  @Test func theRecordIsTheLastLineAndDescribesTheRestOfTheFile() throws {
    let content = Self.written([Self.alice, Self.bob])
    let lines = String(decoding: content, as: UTF8.self).split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    let record = try #require(WriteRecord.parse(Array(lines[2].utf8)))
    #expect(record.revision == "0123abc")
    #expect(record.digest == ContentDigest.of(WriteRecord.strip(content)))
    #expect(
      record.lines == [
        WriteRecord.lineHash(Array(TestKeys.alice.utf8)), WriteRecord.lineHash(Array(TestKeys.bob.utf8)),
      ])
    // sshd reads it as a comment; keyward's own parser too.
    #expect(AuthorizedKeysFile(bytes: content).lines.last?.kind == .comment)
    // Planning again over what was written changes nothing and keeps the bytes.
    let again = Self.plan([Self.alice, Self.bob], over: content)
    #expect(again.status == .unchanged)
    #expect(again.history == .asWritten)
  }

  @Test(
    arguments: [
      ("abc123", "abc123"), ("v1.2+build_3-dirty", "v1.2+build_3-dirty"), ("with space", nil),
      ("line\nbreak", nil), ("esc\u{1B}[31m", nil), ("", nil), (String(repeating: "a", count: 81), nil),
    ] as [(String, String?)])
  func revisionsAreKeptOnlyWhenPlain(_ given: String, _ kept: String?) {
    let record = WriteRecord(digest: String(repeating: "0", count: 64), revision: given, lines: [])
    #expect(record.revision == kept)
    #expect(WriteRecord.parse(record.rendered) == record)
  }

  @Test(arguments: [
    "# keyward-record v2 digest=\(String(repeating: "0", count: 64)) lines=", "# keyward-record v1 lines=",
    "# keyward-record v1 digest=xyz lines=",
    "# keyward-record v1 digest=\(String(repeating: "0", count: 64))",
  ])
  func malformedRecordsAreNotRecords(_ line: String) {
    #expect(WriteRecord.isRecord(Array(line.utf8)))
    #expect(WriteRecord.parse(Array(line.utf8)) == nil)
  }
}

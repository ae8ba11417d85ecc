import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Synchronization
import Testing

@testable import KeywardCore

/// Rotating the login key (state read from the file, the two edits, the wave sequence over
/// in-memory hosts whose logins follow their files), rollout order by canary and tier, and the
/// plan file carrying its rollout.
@Suite("Login-key rotation and rollout order")
struct RotationTests {
  static let old = TestKeys.key(TestKeys.ci)
  static let new = TestKeys.key(TestKeys.dave)

  struct StateCase: Sendable, CustomStringConvertible {
    var name: String
    var text: String?
    var state: LoginKeyState
    var description: String { name }
  }

  static let stateCases: [StateCase] = [
    StateCase(name: "old only", text: TestKeys.ci + "\n" + TestKeys.alice + "\n", state: .oldOnly),
    StateCase(name: "both", text: TestKeys.ci + "\n" + TestKeys.dave + " new\n", state: .both),
    StateCase(name: "new only", text: "# c\n" + TestKeys.dave + "\n", state: .newOnly),
    StateCase(name: "neither", text: TestKeys.alice + "\n", state: .neither),
    StateCase(name: "missing file", text: nil, state: .neither),
    StateCase(
      name: "old with options", text: "restrict,from=\"10.0.0.0/8\" " + TestKeys.ci + "\n", state: .oldOnly),
    StateCase(
      name: "old commented out", text: "# " + TestKeys.ci + "\n" + TestKeys.dave + "\n", state: .newOnly),
  ]

  @Test(arguments: stateCases)
  func stateIsReadFromTheFile(_ c: StateCase) {
    let state = LoginKeyState(
      content: c.text.map { Array($0.utf8) }, old: [Self.old.fingerprint], new: Self.new)
    #expect(state == c.state)
  }

  @Test func addingCopiesTheOldLinesOptionsAndKeepsEveryOtherByte() {
    let restricted: String = "restrict,from=\"10.0.0.0/8\" " + TestKeys.ci
    let text: String = "# header\r\n" + TestKeys.alice + "\n" + restricted + "\ngarbage line\n"
    let added = LoginKeyEdit.adding(
      Self.new, comment: "ci-2027", to: Array(text.utf8), old: [Self.old.fingerprint])
    // Split on the byte: "\r\n" is one Character to Swift strings.
    let lines = added.split(separator: 0x0A, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
    #expect(lines[0] == "# header\r")
    #expect(lines[1] == TestKeys.alice)
    let newLine: String = "restrict,from=\"10.0.0.0/8\" " + Self.new.type + " " + Self.new.base64 + " ci-2027"
    #expect(lines[2] == restricted)
    #expect(lines[3] == newLine)
    #expect(lines[4] == "garbage line")
    // Adding again changes nothing; removing takes out exactly the old line.
    #expect(LoginKeyEdit.adding(Self.new, comment: nil, to: added, old: [Self.old.fingerprint]) == added)
    let removed = LoginKeyEdit.removing([Self.old.fingerprint], from: added)
    #expect(
      String(decoding: removed, as: UTF8.self)
        == "# header\r\n" + TestKeys.alice + "\n" + lines[3] + "\ngarbage line\n")
  }

  /// An in-memory host whose login works only with a key the account's files hold, as sshd's does.
  struct KeyedTransport: Transport {
    let hosts: MemoryTransport
    let key: PublicKey

    /// Any file of the account (sshd reads them all) with the key lets it in.
    func logsIn(_ id: TargetID) -> Bool {
      files.filter { $0.host == id.host && $0.user == id.user }.contains { file in
        AuthorizedKeysFile(bytes: hosts.account(file)?.content ?? []).entries.contains { $0.key == key }
      }
    }

    var files: [TargetID] {
      ["h1", "h2", "h3"].flatMap { host in
        ["alice", "bob", "deploy"].flatMap { user in
          [TargetID(user: user, host: host), TargetID(user: user, host: host, path: ".ssh/authorized_keys2")]
        }
      }
    }

    func refused(_ id: TargetID) -> TransportError {
      TransportError(code: .authFailed, host: id.host, step: .auth, message: "permission denied")
    }

    func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
      var results: [TargetID: Result<ObservedTarget, TransportError>] = [:]
      let allowed = targets.filter { logsIn($0.id) }
      for target in targets where !logsIn(target.id) { results[target.id] = .failure(refused(target.id)) }
      for (id, result) in await hosts.fetch(allowed) {
        results[id] = result.map { observed in
          var observed = observed
          observed.loginKeyFingerprint = key.fingerprint
          return observed
        }
      }
      return results
    }

    func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
      var results: [TargetID: WriteOutcome] = [:]
      for request in requests where !logsIn(request.id) { results[request.id] = .failed(refused(request.id)) }
      for (id, outcome) in await hosts.write(requests.filter { logsIn($0.id) }) { results[id] = outcome }
      return results
    }
  }

  @Test func rotationRunsWaveByWaveAndARerunFinishesWhatIsLeft() async throws {
    let ids = ["h1", "h2", "h3"].flatMap { host in ["alice", "bob"].map { TargetID(user: $0, host: host) } }
    var accounts: [TargetID: MemoryTransport.Account] = [:]
    for id in ids {
      accounts[id] = .init(content: Array(("restrict " + TestKeys.ci + "\n" + TestKeys.alice + "\n").utf8))
    }
    // h2/bob was left half done by an earlier run; h3/alice is done already.
    accounts[TargetID(user: "bob", host: "h2")] = .init(
      content: Array(
        ("restrict " + TestKeys.ci + "\nrestrict " + TestKeys.dave + "\n" + TestKeys.alice + "\n").utf8))
    accounts[TargetID(user: "alice", host: "h3")] = .init(content: Array((TestKeys.dave + "\n").utf8))
    let hosts = MemoryTransport(accounts: accounts)
    let steps = StepLog()
    let rotation = LoginKeyRotation(
      targets: ids.map { FetchRequest(id: $0) }, newKey: Self.new, newComment: "next",
      rollout: try Rollout(parsing: "1,100%"),
      checkpoint: { step, wave in steps.append("\(wave):\(step.rawValue)") })
    #expect(rotation.waves == [["h1"], ["h2", "h3"]])
    let report = await rotation.run(
      old: KeyedTransport(hosts: hosts, key: Self.old), new: KeyedTransport(hosts: hosts, key: Self.new))
    #expect(report.isComplete, "\(report.renderText())")
    #expect(report.waves.map(\.passed) == [true, true])
    #expect(report.results.count { $0.status == .alreadyRotated } == 1)
    #expect(report.results.first { $0.target.user == "bob" && $0.target.host == "h2" }?.found == .both)
    #expect(
      steps.all == [
        "1:read", "1:added", "1:proven", "1:removed", "2:read", "2:added", "2:proven", "2:removed",
      ])
    for id in ids {
      let entries = AuthorizedKeysFile(bytes: hosts.account(id)?.content ?? []).entries
      #expect(!entries.contains { $0.key == Self.old }, "\(id)")
      #expect(entries.contains { $0.key == Self.new }, "\(id)")
    }
    let h1 = String(decoding: hosts.account(ids[0])?.content ?? [], as: UTF8.self)
    #expect(h1 == "restrict " + Self.new.type + " " + Self.new.base64 + " next\n" + TestKeys.alice + "\n")

    // Run again: nothing left to do, and nothing written.
    let writes = hosts.trace.count { $0.hasPrefix("write") }
    let again = await rotation.run(
      old: KeyedTransport(hosts: hosts, key: Self.old), new: KeyedTransport(hosts: hosts, key: Self.new))
    #expect(again.results.allSatisfy { $0.status == .alreadyRotated })
    #expect(hosts.trace.count { $0.hasPrefix("write") } == writes)
  }

  @Test func aFailedProofKeepsTheOldKeyAndClosesTheGate() async throws {
    let ids = ["h1", "h2"].map { TargetID(user: "deploy", host: $0) }
    let hosts = MemoryTransport(
      accounts: Dictionary(
        uniqueKeysWithValues: ids.map { ($0, .init(content: Array((TestKeys.ci + "\n").utf8))) }))
    // The "new" identity is some other key: the fresh login with it fails after the add.
    let rotation = LoginKeyRotation(
      targets: ids.map { FetchRequest(id: $0) }, newKey: Self.new, newComment: nil,
      rollout: try Rollout(parsing: "1"))
    let report = await rotation.run(
      old: KeyedTransport(hosts: hosts, key: Self.old),
      new: KeyedTransport(hosts: hosts, key: TestKeys.key(TestKeys.alice)))
    #expect(!report.isComplete)
    #expect(report.stoppedAfter == 1)
    #expect(report.results.map(\.status) == [RotationTargetResult.Status.failed, .skipped])
    #expect(report.results[0].message?.contains("a fresh login with the new key failed") == true)
    let kept = AuthorizedKeysFile(bytes: hosts.account(ids[0])?.content ?? []).entries.map(\.key)
    #expect(kept == [Self.old, Self.new])
    #expect(hosts.account(ids[1])?.content == Array((TestKeys.ci + "\n").utf8))
  }

  @Test func aProofByAnotherKeyIsNoProof() async throws {
    // --new-key's .pub says dave, but the private key is alice's (which the file also holds).
    let id = TargetID(user: "deploy", host: "h1")
    let hosts = MemoryTransport(accounts: [
      id: .init(content: Array((TestKeys.ci + "\n" + TestKeys.alice + "\n").utf8))
    ])
    let rotation = LoginKeyRotation(targets: [FetchRequest(id: id)], newKey: Self.new, newComment: nil)
    let report = await rotation.run(
      old: KeyedTransport(hosts: hosts, key: Self.old),
      new: KeyedTransport(hosts: hosts, key: TestKeys.key(TestKeys.alice)))
    #expect(report.results.map(\.status) == [RotationTargetResult.Status.failed])
    #expect(
      report.results[0].message?.contains("authenticated with another key") == true, "\(report.results)")
    let kept = AuthorizedKeysFile(bytes: hosts.account(id)?.content ?? []).entries.map(\.key)
    #expect(kept.contains(Self.old))
  }

  @Test func aSecondFileWithoutTheLoginKeyIsLeftAlone() async throws {
    let main = TargetID(user: "deploy", host: "h1")
    let extra = TargetID(user: "deploy", host: "h1", path: ".ssh/authorized_keys2")
    let hosts = MemoryTransport(accounts: [
      main: .init(content: Array((TestKeys.ci + "\n").utf8)),
      extra: .init(content: Array((TestKeys.alice + "\n").utf8)),
    ])
    let rotation = LoginKeyRotation(
      targets: [FetchRequest(id: main), FetchRequest(id: extra)], newKey: Self.new, newComment: nil)
    let report = await rotation.run(
      old: KeyedTransport(hosts: hosts, key: Self.old), new: KeyedTransport(hosts: hosts, key: Self.new))
    #expect(report.isComplete, "\(report.renderText())")
    #expect(report.results.map(\.status) == [RotationTargetResult.Status.rotated, .withoutLoginKey])
    #expect(hosts.account(extra)?.content == Array((TestKeys.alice + "\n").utf8))
    #expect(
      report.waves.first?.line(of: 1) == "Wave 1 of 1 (h1): 1 rotated, 1 without login key; gate passed")
  }

  @Test func loginAccountsFollowConnectAs() {
    var desired = DesiredState(
      targets: [
        DesiredTarget(id: TargetID(user: "alice", host: "a"), mode: .exclusive, entries: []),
        DesiredTarget(id: TargetID(user: "bob", host: "a"), mode: .exclusive, entries: []),
        DesiredTarget(id: TargetID(user: "alice", host: "b"), mode: .exclusive, entries: []),
        DesiredTarget(
          id: TargetID(user: "root", host: "c", path: ".ssh/keys"), mode: .exclusive, entries: []),
        DesiredTarget(id: TargetID(user: "carol", host: "c"), mode: .exclusive, entries: []),
      ])
    desired.hosts = [
      "a": HostSpec(name: "a", connectAs: "root"), "c": HostSpec(name: "c", connectAs: "root"),
    ]
    #expect(
      LoginAccounts.requests(for: desired).map(\.id.description) == [
        "root@a", "alice@b", "root@c:.ssh/keys",
      ])
  }

  @Test(
    arguments: [
      (["web1": (nil, nil), "web10": (nil, nil), "web2": (nil, nil)], ["web1", "web2", "web10"]),
      (["a": (nil, 2), "b": (nil, 1), "c": (nil, nil), "d": (true, nil)], ["d", "b", "a", "c"]),
      (
        ["x2": (nil, 1), "x10": (nil, 1), "x1": (false, 3), "c2": (true, 5), "c1": (true, nil)],
        ["c1", "c2", "x2", "x10", "x1"]
      ),
    ] as [([String: (Bool?, Int?)], [String])])
  func rolloutOrderPutsCanariesThenTiersFirst(_ marks: [String: (Bool?, Int?)], _ expected: [String]) {
    var specs: [String: HostSpec] = [:]
    for (name, mark) in marks {
      var spec = HostSpec(name: name)
      spec.canary = mark.0
      spec.tier = mark.1
      specs[name] = spec
    }
    #expect(RolloutOrder.hosts(specs) == expected)
  }

  @Test(
    arguments: [
      ("{ canary: true, tier: 2 }", true, 2, nil),
      ("{ tier: 0 }", nil, 0, nil),
      ("{ canary: yes }", nil, nil, "keys.yaml:7:19: error: 'yes' is a YAML 1.1 boolean spelling"),
      ("{ tier: '2' }", nil, nil, "keys.yaml:7:17: error: 'tier' of host 'web1' must be a whole number"),
      ("{ tier: -1 }", nil, nil, "keys.yaml:7:17: error: 'tier' of host 'web1' must be a whole number"),
      ("{ tier: 5000 }", nil, nil, "keys.yaml:7:17: error:"),
      ("{ tiers: 1 }", nil, nil, "keys.yaml:7:11: error:"),
    ] as [(String, Bool?, Int?, String?)])
  func hostTierAndCanaryAreDecodedWithLocations(
    _ written: String, _ canary: Bool?, _ tier: Int?, _ error: String?
  ) {
    let text = """
      version: 1
      keys:
        alice: \(TestKeys.alice)
      hosts:
        web0: {}
        web2: {}
        web1: \(written)
      access:
        - { hosts: [web0, web1, web2], users: [deploy], keys: [alice] }

      """
    let result = ManifestLoader().load(sources: [("keys.yaml", Array(text.utf8))])
    let rendered = DiagnosticRenderer.text(result.diagnostics)
    if let error {
      #expect(rendered.contains(error), "\(rendered)")
      #expect(result.state == nil)
    } else {
      #expect(result.diagnostics.isEmpty, "\(rendered)")
      #expect(result.state?.hosts["web1"]?.canary == canary)
      #expect(result.state?.hosts["web1"]?.tier == tier)
      #expect(RolloutOrder.hosts(result.state?.hosts ?? [:]).first == "web1")
    }
  }

  static func plan(rollout: Rollout?, tier: Int? = nil) -> Plan {
    let id = TargetID(user: "deploy", host: "web1")
    var spec = HostSpec(name: "web1")
    spec.tier = tier
    var plan = Plan(
      targets: [
        TargetPlan(id: id, mode: .exclusive, status: .unchanged, observedDigest: ContentDigest.of(nil))
      ],
      hosts: ["web1": spec])
    plan.rollout = rollout
    return plan
  }

  @Test func aSavedPlanCarriesItsRollout() throws {
    let plain = PlanFile.encode(Self.plan(rollout: nil))
    #expect(String(decoding: plain, as: UTF8.self).contains("\"format_version\" : 2"))
    #expect(try PlanFile.decode(plain).rollout == nil)

    let staged = PlanFile.encode(Self.plan(rollout: try Rollout(parsing: "1,10%,100%")))
    let text = String(decoding: staged, as: UTF8.self)
    #expect(text.contains("\"format_version\" : 3"))
    #expect(text.contains("\"rollout\" : \"1,10%,100%\""))
    #expect(try PlanFile.decode(staged).rollout?.description == "1,10%,100%")

    let tiered = PlanFile.encode(Self.plan(rollout: nil, tier: 2))
    #expect(String(decoding: tiered, as: UTF8.self).contains("\"format_version\" : 3"))
    #expect(try PlanFile.decode(tiered).hosts["web1"]?.tier == 2)

    // A format-2 file that claims a rollout (its digest recomputed) is refused.
    let downgraded = text.replacingOccurrences(of: "\"format_version\" : 3", with: "\"format_version\" : 2")
    #expect(throws: PlanFileError.self) { try PlanFile.decode(Array(downgraded.utf8)) }
    let unknown = text.replacingOccurrences(of: "\"format_version\" : 3", with: "\"format_version\" : 4")
    #expect(throws: PlanFileError.unsupportedVersion(4)) { try PlanFile.decode(Array(unknown.utf8)) }
  }
}

/// Steps heard by the checkpoint, in order.
final class StepLog: Sendable {
  private let steps = Mutex<[String]>([])
  func append(_ step: String) { steps.withLock { $0.append(step) } }
  var all: [String] { steps.withLock { $0 } }
}

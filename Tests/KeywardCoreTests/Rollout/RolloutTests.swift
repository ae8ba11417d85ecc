import Foundation
import KeywardCore
import KeywardTestSupport
import Synchronization
import Testing

/// Staged rollouts: wave sizes, the order of hosts, the gate after each wave, and resuming.
@Suite("Rollout")
struct RolloutTests {
  struct WaveCase: Sendable, CustomStringConvertible {
    var spec: String
    var hosts: Int
    /// Wave sizes, or nil when the spec is refused.
    var sizes: [Int]?
    var description: String { "\(spec) over \(hosts)" }
  }

  static let waveCases: [WaveCase] = [
    WaveCase(spec: "1,3,100%", hosts: 10, sizes: [1, 3, 6]),
    WaveCase(spec: "1,10%,100%", hosts: 10, sizes: [1, 1, 8]),
    WaveCase(spec: "1,10%,100%", hosts: 200, sizes: [1, 20, 179]),
    WaveCase(spec: "25%", hosts: 10, sizes: [3, 3, 3, 1]),
    WaveCase(spec: "2", hosts: 5, sizes: [2, 2, 1]),
    WaveCase(spec: "1,5", hosts: 3, sizes: [1, 2]),
    WaveCase(spec: "100%", hosts: 1, sizes: [1]),
    WaveCase(spec: "1%", hosts: 3, sizes: [1, 1, 1]),
    WaveCase(spec: "1, 50%", hosts: 4, sizes: [1, 2, 1]),
    WaveCase(spec: "3", hosts: 0, sizes: []),
    WaveCase(spec: "0", hosts: 3, sizes: nil),
    WaveCase(spec: "101%", hosts: 3, sizes: nil),
    WaveCase(spec: "1,,2", hosts: 3, sizes: nil),
    WaveCase(spec: "-1", hosts: 3, sizes: nil),
    WaveCase(spec: "", hosts: 3, sizes: nil),
    WaveCase(spec: "1.5", hosts: 3, sizes: nil),
    WaveCase(spec: "ten", hosts: 3, sizes: nil),
  ]

  @Test(arguments: waveCases)
  func waveSizes(_ c: WaveCase) {
    let rollout = try? Rollout(parsing: c.spec)
    let hosts = (1...max(1, c.hosts)).prefix(c.hosts).map { "h\($0)" }
    #expect(rollout?.waves(hosts).map(\.count) == c.sizes)
    if let waves = rollout?.waves(hosts) { #expect(waves.flatMap { $0 } == hosts) }
  }

  @Test func hostsGoInNaturalOrder() {
    #expect(
      Rollout.order(["lab10", "lab2", "lab1", "web-b", "web-a", "lab3"])
        == ["lab1", "lab2", "lab3", "lab10", "web-a", "web-b"])
  }

  @Test(arguments: [
    ("0", 0, 1, true), ("0", 1, 5, false), ("2", 2, 5, true), ("2", 3, 5, false), ("10%", 1, 10, true),
    ("10%", 2, 10, false), ("50%", 1, 3, true), ("50%", 2, 3, false), ("100%", 5, 5, true),
  ])
  func failureLimits(_ spec: String, _ failures: Int, _ total: Int, _ allowed: Bool) throws {
    #expect(try FailureLimit(parsing: spec).allows(failures, of: total) == allowed)
  }

  @Test(arguments: ["", "-1", "x", "101%", "1.5"])
  func badFailureLimits(_ spec: String) {
    #expect(throws: RolloutError.self) { try FailureLimit(parsing: spec) }
  }

  // MARK: - Applying in waves

  static let hosts = (1...10).map { "lab\($0)" }
  static func id(_ host: String) -> TargetID { TargetID(user: "alice", host: host) }
  static let before = Array((TestKeys.bob + "\n").utf8)

  /// A memory transport whose login check fails on some hosts (the write is rolled back).
  final class GateTransport: Transport {
    let memory: MemoryTransport
    let brokenLogins: Mutex<Set<String>>
    let waves = Mutex<[[String]]>([])

    init(memory: MemoryTransport, brokenLogins: Set<String>) {
      self.memory = memory
      self.brokenLogins = Mutex(brokenLogins)
    }

    func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
      await memory.fetch(targets)
    }

    func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
      waves.withLock { $0.append(requests.map(\.id.host).sorted()) }
      let broken = brokenLogins.withLock { $0 }
      var outcomes = await memory.write(requests.filter { !broken.contains($0.id.host) })
      for request in requests where broken.contains(request.id.host) {
        outcomes[request.id] = .rolledBack(
          TransportError(
            code: .loginCheckFailed, host: request.id.host, step: .verify,
            message: "a fresh login as 'alice' failed; the previous file was restored"))
      }
      return outcomes
    }
  }

  func fleet(broken: Set<String>) -> GateTransport {
    var accounts: [TargetID: MemoryTransport.Account] = [:]
    for host in Self.hosts { accounts[Self.id(host)] = .init(content: Self.before) }
    return GateTransport(memory: MemoryTransport(accounts: accounts), brokenLogins: broken)
  }

  func plan(_ transport: GateTransport) async -> Plan {
    let desired = DesiredState(
      targets: Self.hosts.map {
        DesiredTarget(id: Self.id($0), mode: .exclusive, entries: [TestKeys.entry("alice", TestKeys.alice)])
      })
    return await Planner().plan(desired, transport: transport)
  }

  @Test func aFailedLoginCheckStopsTheRolloutAndResumeFinishesIt() async throws {
    let transport = fleet(broken: ["lab3"])
    let plan = await plan(transport)
    let staged = RolloutApplier(rollout: try Rollout(parsing: "1,3,100%"))
    #expect(staged.waves(plan) == [["lab1"], ["lab2", "lab3", "lab4"], (5...10).map { "lab\($0)" }])

    let first = await staged.apply(plan, transport: transport)
    #expect(first.stoppedAfter == 2)
    #expect(first.waves.map(\.passed) == [true, false])
    #expect(first.waves[1].reason == "the login check failed on alice@lab3")
    #expect(transport.waves.withLock { $0 } == [["lab1"], ["lab2", "lab3", "lab4"]])
    for host in (5...10).map({ "lab\($0)" }) {
      #expect(transport.memory.account(Self.id(host))?.content == Self.before)
      #expect(
        first.report.results.first { $0.target == "alice@\(host)" }?.message
          == "not applied: the rollout stopped after wave 2")
    }
    #expect(first.report.hasFailures)
    #expect(
      RolloutReport.line(first.waves[1], of: 3)
        == "Wave 2 of 3 (lab2, lab3, lab4): 2 applied, 1 rolled back; gate closed: the login check failed on alice@lab3"
    )

    let json = first.renderJSON()
    #expect(json.contains("\"stopped_after\" : 2"), "\(json)")
    #expect(json.contains("\"failed_logins\" : 1"))
    #expect(json.contains("\"rollout\" : \"1,3,100%\""))
    #expect(json.contains("\"reason\" : \"the login check failed on alice@lab3\""))

    transport.brokenLogins.withLock { $0 = [] }
    let resumed = await staged.apply(plan, transport: transport)
    #expect(resumed.stoppedAfter == nil)
    #expect(resumed.waves.map(\.passed) == [true, true, true])
    let statuses = Dictionary(uniqueKeysWithValues: resumed.report.results.map { ($0.target, $0.status) })
    for host in ["lab1", "lab2", "lab4"] { #expect(statuses["alice@\(host)"] == .unchanged) }
    for host in ["lab3"] + (5...10).map({ "lab\($0)" }) { #expect(statuses["alice@\(host)"] == .applied) }
    #expect(!resumed.report.hasFailures)
    for host in Self.hosts {
      #expect(
        WriteRecord.strip(transport.memory.account(Self.id(host))?.content ?? [])
          == Array((TestKeys.alice + "\n").utf8))
    }
  }

  @Test func writeFailuresWithinTheLimitLetTheRolloutGoOn() async throws {
    let transport = fleet(broken: [])
    let plan = await plan(transport)
    transport.memory.fail(
      Self.id("lab2"),
      with: TransportError(code: .writeFailed, host: "lab2", step: .write, message: "disk full"))
    let strict = await RolloutApplier(rollout: try Rollout(parsing: "1,3,100%")).apply(
      plan, transport: transport)
    #expect(strict.stoppedAfter == 2)
    #expect(
      strict.waves[1].reason?.hasPrefix("1 of 3 targets failed (alice@lab2), more than --max-failures 0")
        == true)

    let lenient = await RolloutApplier(
      rollout: try Rollout(parsing: "1,3,100%"), maxFailures: try FailureLimit(parsing: "1")
    ).apply(plan, transport: transport)
    #expect(lenient.stoppedAfter == nil)
    #expect(lenient.waves.count == 3)
    #expect(lenient.report.results.count { $0.status == .failed } == 1)
  }

  @Test(
    arguments: [("'1,10%,100%'", "1,10%,100%"), ("2", "2"), ("'0,5'", nil), ("'1,ten'", nil)]
      as [(String, String?)])
  func manifestRolloutDefault(_ written: String, _ expected: String?) {
    let text = """
      version: 1
      rollout: \(written)
      keys:
        alice: \(TestKeys.alice)
      hosts:
        web1: {}
      access:
        - { hosts: [web1], users: [deploy], keys: [alice] }

      """
    let result = ManifestLoader().load(sources: [("keys.yaml", Array(text.utf8))])
    #expect(result.state?.rollout?.description == expected)
    #expect(
      result.diagnostics.map(\.code) == (expected == nil ? [.invalidValue] : []), "\(result.diagnostics)")
  }
}

import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@Suite("Applier")
struct ApplierTests {
  let web = TargetID(user: "deploy", host: "web1")
  let db = TargetID(user: "deploy", host: "db1")

  func desired() -> DesiredState {
    DesiredState(targets: [
      DesiredTarget(id: web, mode: .exclusive, entries: [TestKeys.entry("alice", TestKeys.alice)]),
      DesiredTarget(id: db, mode: .exclusive, entries: [TestKeys.entry("alice", TestKeys.alice)]),
    ])
  }

  @Test func appliesThenASecondPlanIsEmptyAndWritesNothing() async {
    let memory = MemoryTransport(accounts: [
      web: .init(content: Array((TestKeys.bob + "\n").utf8)), db: .init(content: nil, directoryMode: nil),
    ])
    let plan = await Planner().plan(desired(), transport: memory)
    #expect(plan.summary.add == 2 && plan.summary.remove == 1)
    let report = await Applier().apply(plan, transport: memory)
    #expect(report.results.map(\.status) == [.applied, .applied])
    #expect(!report.hasFailures)
    #expect(
      memory.trace == [
        "read deploy@db1", "read deploy@web1",
        "compare deploy@db1", "mkdir deploy@db1", "write-temp deploy@db1", "rename deploy@db1",
        "compare deploy@web1", "write-temp deploy@web1", "rename deploy@web1",
      ])
    #expect(WriteRecord.strip(memory.account(web)?.content ?? []) == Array((TestKeys.alice + "\n").utf8))

    let again = await Planner().plan(desired(), transport: memory)
    #expect(!again.hasChanges)
    let before = memory.trace.count
    let second = await Applier().apply(again, transport: memory)
    #expect(second.results.map(\.status) == [.unchanged, .unchanged])
    #expect(memory.trace.count == before)
  }

  @Test func aStaleTargetIsRefusedAndTheOthersApply() async {
    let memory = MemoryTransport(accounts: [web: .init(content: nil), db: .init(content: nil)])
    let plan = await Planner().plan(desired(), transport: memory)
    memory.setAccount(web, .init(content: Array("someone's edit\n".utf8)))
    let report = await Applier().apply(plan, transport: memory)
    let byTarget = Dictionary(uniqueKeysWithValues: report.results.map { ($0.target, $0) })
    #expect(byTarget["deploy@web1"]?.status == .stale)
    #expect(byTarget["deploy@web1"]?.message?.contains("changed since the plan was made") == true)
    #expect(byTarget["deploy@db1"]?.status == .applied)
    #expect(memory.account(web)?.content == Array("someone's edit\n".utf8))
    #expect(!memory.trace.contains("write-temp deploy@web1"))
    #expect(report.hasFailures)
  }

  @Test func aFailingTargetDoesNotStopTheOthers() async {
    let memory = MemoryTransport(accounts: [web: .init(content: nil), db: .init(content: nil)])
    let plan = await Planner().plan(desired(), transport: memory)
    memory.fail(
      web, with: TransportError(code: .writeFailed, host: "web1", step: .write, message: "no space"))
    let report = await Applier().apply(plan, transport: memory)
    #expect(report.results.map(\.status) == [.applied, .failed])
    #expect(report.results[1].message == "web1: write: no space [write-failed]")
  }

  @Test func aRefusedPlanWritesNothing() async {
    let memory = MemoryTransport(accounts: [
      web: .init(content: Array((TestKeys.bob + "\n").utf8)), db: .init(content: nil),
    ])
    let plan = await Planner(options: PlannerOptions(maxRemovals: 0)).plan(desired(), transport: memory)
    let report = await Applier().apply(plan, transport: memory)
    #expect(report.refused.count == 1)
    #expect(report.results.allSatisfy { $0.status == .skipped })
    #expect(!memory.trace.contains { $0.hasPrefix("write") })
  }

  @Test func aSavedPlanRoundTripsAndUnknownVersionsAreRefused() async throws {
    let memory = MemoryTransport(accounts: [web: .init(content: nil), db: .init(content: nil)])
    let plan = await Planner().plan(desired(), transport: memory)
    let bytes = PlanFile.encode(plan)
    let loaded = try PlanFile.decode(bytes)
    #expect(loaded == plan)
    var text = String(decoding: bytes, as: UTF8.self)
    text = text.replacingOccurrences(of: "\"format_version\" : 2", with: "\"format_version\" : 99")
    #expect(throws: PlanFileError.unsupportedVersion(99)) { try PlanFile.decode(Array(text.utf8)) }
    #expect(throws: PlanFileError.self) { try PlanFile.decode(Array("not json".utf8)) }
  }
}

import KeywardCore
import Testing

/// Target selection: local scope (by host name or the host's `hostname`) then `--target`.
@Suite("Target selection")
struct TargetSelectionTests {
  static let desired = DesiredState(
    targets: [
      DesiredTarget(id: TargetID(user: "deploy", host: "web1"), mode: .exclusive, entries: []),
      DesiredTarget(id: TargetID(user: "alice", host: "web1"), mode: .exclusive, entries: []),
      DesiredTarget(id: TargetID(user: "deploy", host: "db1"), mode: .exclusive, entries: []),
      DesiredTarget(id: TargetID(user: "deploy", host: "cache"), mode: .exclusive, entries: []),
    ],
    hosts: ["cache": HostSpec(name: "cache", hostname: "box.example")])

  @Test(
    arguments: [
      (
        "over SSH, no pattern: all", nil, [], ["deploy@cache", "deploy@db1", "alice@web1", "deploy@web1"], []
      ),
      ("over SSH, a glob", nil, ["*@web*"], ["alice@web1", "deploy@web1"], []),
      ("over SSH, user@host and host", nil, ["alice@web1", "db1"], ["deploy@db1", "alice@web1"], []),
      ("local by host name", ["web1"], [], ["alice@web1", "deploy@web1"], []),
      ("local by the host's hostname", ["box.example"], [], ["deploy@cache"], []),
      ("local, a pattern of another host matches nothing", ["web1"], ["*@db1"], [], ["*@db1"]),
      (
        "a typo", nil, ["deploy@web9", "deploy@*"], ["deploy@cache", "deploy@db1", "deploy@web1"],
        ["deploy@web9"]
      ),
    ] as [(String, Set<String>?, [String], [String], [String])])
  func selects(
    _ name: String, local: Set<String>?, patterns: [String], selected: [String], unmatched: [String]
  ) {
    let selection = TargetSelection(patterns: patterns.map(TargetPattern.init), localHostNames: local)
    #expect(selection.select(Self.desired).targets.map(\.id.description) == selected, "\(name)")
    #expect(selection.unmatchedPatterns(in: Self.desired).map(\.pattern) == unmatched, "\(name)")
  }

  @Test func localModeRefusesAPlanOfAnotherHost() {
    let plan = Plan(
      targets: Self.desired.targets.map {
        TargetPlan(id: $0.id, mode: $0.mode, status: .unchanged, observedDigest: nil)
      }, hosts: [:])
    #expect(TargetSelection().refusal(of: plan) == nil)
    let refusal = TargetSelection(localHostNames: ["web1"]).refusal(of: plan)
    #expect(refusal?.contains("another host ('deploy@cache', 'deploy@db1')") == true, "\(refusal ?? "")")
  }
}

import KeywardCore
import Testing

/// Hosts in the order people count them, everywhere hosts are listed: plans (text and the
/// target order of every format), reports and rollout waves.
struct NaturalOrderTests {
  @Test(arguments: [
    ("lab2", "lab10", true), ("lab10", "lab2", false), ("lab1", "lab1", false), ("db9", "db10", true),
    ("web-a", "web-b", true), ("a", "a1", true), ("lab02", "lab2", true), ("lab2", "lab02", false),
    ("x10y2", "x10y10", true), ("host", "Host", false), ("10.0.0.9", "10.0.0.10", true),
  ])
  func less(lhs: String, rhs: String, expected: Bool) {
    #expect(NaturalOrder.less(lhs, rhs) == expected)
  }

  @Test func planTargetsAndTextFollowNaturalOrder() {
    let hosts = ["lab10", "lab2", "lab1", "db3"]
    let targets = hosts.flatMap { host in
      ["bob", "alice"].map {
        TargetPlan(
          id: TargetID(user: $0, host: host), mode: .exclusive, status: .unchanged, observedDigest: nil)
      }
    }
    let plan = Plan(targets: targets)
    #expect(
      plan.targets.map(\.id.description) == [
        "alice@db3", "bob@db3", "alice@lab1", "bob@lab1", "alice@lab2", "bob@lab2", "alice@lab10",
        "bob@lab10",
      ])
    #expect(NaturalOrder.sorted(hosts) == ["db3", "lab1", "lab2", "lab10"])
    #expect(Rollout.order(hosts) == NaturalOrder.sorted(hosts))
  }
}

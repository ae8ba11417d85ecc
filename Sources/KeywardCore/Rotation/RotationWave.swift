/// One wave of a login-key rotation and whether its gate passed.
public struct RotationWave: Hashable, Sendable, Codable {
  /// 1-based.
  public var number: Int
  public var hosts: [String]
  public var results: [RotationTargetResult]
  public var passed: Bool
  /// Why the gate closed.
  public var reason: String?

  public init(
    number: Int, hosts: [String], results: [RotationTargetResult], passed: Bool, reason: String? = nil
  ) {
    self.number = number
    self.hosts = hosts
    self.results = results
    self.passed = passed
    self.reason = reason
  }

  /// `Wave 2 of 3 (lab2, lab3): 4 rotated, 2 already rotated; gate passed`.
  public func line(of total: Int) -> String {
    var counts: [String] = []
    for status in [RotationTargetResult.Status.rotated, .alreadyRotated, .withoutLoginKey, .failed] {
      let count = results.count { $0.status == status }
      if count > 0 { counts.append("\(count) \(status.label)") }
    }
    let gate = passed ? "gate passed" : "gate closed: \(reason ?? "failures")"
    return
      "Wave \(number) of \(total) (\(RolloutText.hostList(hosts))): \(counts.joined(separator: ", ")); \(gate)"
  }
}

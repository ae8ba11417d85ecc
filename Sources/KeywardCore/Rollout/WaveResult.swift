/// What one wave of a rollout did, and whether its gate passed.
public struct WaveResult: Hashable, Sendable, Codable {
  /// 1-based.
  public var number: Int
  public var hosts: [String]
  public var results: [TargetApplyResult]
  /// Targets that failed to write, were stale, or were rolled back.
  public var failures: Int
  /// Targets whose login check failed after the write (rolled back).
  public var failedLogins: Int
  public var passed: Bool
  /// Why the gate closed.
  public var reason: String?

  public init(
    number: Int, hosts: [String], results: [TargetApplyResult], failures: Int, failedLogins: Int,
    passed: Bool,
    reason: String? = nil
  ) {
    self.number = number
    self.hosts = hosts
    self.results = results
    self.failures = failures
    self.failedLogins = failedLogins
    self.passed = passed
    self.reason = reason
  }
}

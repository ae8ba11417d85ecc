/// A whole plan: one `TargetPlan` per target, sorted, plus what apply needs to reach the hosts.
///
/// A plan is a plain value. It joins the planner and the applier: apply writes exactly
/// `newContent` of each changed target, guarded by `observedDigest`.
public struct Plan: Hashable, Sendable {
  public var targets: [TargetPlan]
  /// How to reach each host (saved in plan files so that apply can reconnect).
  public var hosts: [String: HostSpec]
  /// Plan-wide problems (a guard that refused the whole plan).
  public var errors: [String]
  /// The sshd model of each host, when it was read (`plan --format json` shows it).
  public var sshd: [String: SSHDModel] = [:]
  /// The transport that served each host and why, when the plan was made over SSH.
  public var transports: [String: TransportChoice] = [:]
  /// The waves to apply it in (the manifest's `rollout:` or `plan --rollout`), saved in plan
  /// files so that `apply PLANFILE` honours it.
  public var rollout: Rollout?

  public init(targets: [TargetPlan], hosts: [String: HostSpec] = [:], errors: [String] = []) {
    self.targets = targets.sorted { $0.id < $1.id }
    self.hosts = hosts
    self.errors = errors
  }

  public var summary: PlanSummary { PlanSummary(targets: targets, planErrors: errors.count) }

  /// True when applying would write something.
  public var hasChanges: Bool { targets.contains { $0.status == .changes } }

  /// True when a target or the plan as a whole is in error.
  public var hasErrors: Bool { !errors.isEmpty || targets.contains { $0.status == .error } }
}

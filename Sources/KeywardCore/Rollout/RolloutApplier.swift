import Foundation

/// Applies a plan in waves of hosts, each wave a batch of write requests through the ordinary
/// `Applier` and `Transport`. After each wave a gate: every written target passed its login
/// check, and the targets that failed are within `maxFailures`. A closed gate stops the run
/// before the next wave; the targets of the waves not started are reported `skipped`.
///
/// Resuming is applying the same plan again: a target whose file already holds the planned
/// bytes (the compare-and-swap finds the new digest, not the planned old one) counts as
/// converged, not stale.
public struct RolloutApplier: Sendable {
  public var applier: Applier
  public var rollout: Rollout
  public var maxFailures: FailureLimit
  /// The pause between two waves.
  public var wavePause: Duration

  public init(
    applier: Applier = Applier(), rollout: Rollout, maxFailures: FailureLimit = .targets(0),
    wavePause: Duration = .zero
  ) {
    self.applier = applier
    self.rollout = rollout
    self.maxFailures = maxFailures
    self.wavePause = wavePause
  }

  /// The waves of `plan`: the hosts with changes, in rollout order (`RolloutOrder`).
  public func waves(_ plan: Plan) -> [[String]] {
    let hosts = Set(plan.targets.filter { $0.status == .changes }.map(\.id.host))
    return rollout.waves(RolloutOrder.order(hosts, specs: plan.hosts))
  }

  /// Applies `plan` wave by wave; `progress` hears of each wave as it ends (and may print).
  public func apply(
    _ plan: Plan, transport: some Transport, progress: @Sendable (WaveResult) -> Void = { _ in }
  ) async -> RolloutReport {
    let planned = waves(plan)
    if !plan.errors.isEmpty {
      let report = await applier.apply(plan, transport: transport)
      return RolloutReport(
        rollout: rollout, plannedWaves: planned, waves: [], stoppedAfter: nil, report: report)
    }
    var byTarget: [TargetID: TargetApplyResult] = [:]
    var done: [WaveResult] = []
    var stoppedAfter: Int?
    for (index, hosts) in planned.enumerated() {
      if stoppedAfter != nil { break }
      if index > 0 && wavePause > .zero { try? await Task.sleep(for: wavePause) }
      let members = Set(hosts)
      let targets = plan.targets.filter { members.contains($0.id.host) && $0.status == .changes }
      let part = Plan(targets: targets, hosts: plan.hosts)
      let report = await applier.apply(part, transport: transport)
      var results: [TargetApplyResult] = []
      for (target, result) in zip(part.targets, report.results) {
        let settled = Self.converged(result, target: target)
        byTarget[target.id] = settled
        results.append(settled)
      }
      let failedLogins = results.count { $0.status == .rolledBack }
      let failures = results.count { $0.status != .applied && $0.status != .unchanged }
      var reason: String?
      if failedLogins > 0 {
        let names = results.filter { $0.status == .rolledBack }.map(\.target).joined(separator: ", ")
        reason = "the login check failed on \(names)"
      } else if !maxFailures.allows(failures, of: results.count) {
        let names = results.filter { $0.status != .applied && $0.status != .unchanged }.map(\.target)
        reason =
          "\(failures) of \(results.count) targets failed (\(names.joined(separator: ", "))), more than --max-failures \(maxFailures)"
      }
      let wave = WaveResult(
        number: index + 1, hosts: hosts, results: results, failures: failures, failedLogins: failedLogins,
        passed: reason == nil, reason: reason)
      done.append(wave)
      progress(wave)
      if reason != nil { stoppedAfter = index + 1 }
    }
    let results = plan.targets.map { target -> TargetApplyResult in
      let name = target.id.description
      if let result = byTarget[target.id] { return result }
      switch target.status {
      case .unchanged: return TargetApplyResult(target: name, status: .unchanged)
      case .error: return TargetApplyResult(target: name, status: .skipped, message: target.error)
      case .changes:
        return TargetApplyResult(
          target: name, status: .skipped,
          message: "not applied: the rollout stopped after wave \(stoppedAfter ?? 0)")
      }
    }
    return RolloutReport(
      rollout: rollout, plannedWaves: planned, waves: done, stoppedAfter: stoppedAfter,
      report: ApplyReport(results: results))
  }

  /// A stale target whose file already holds exactly the planned bytes was applied before
  /// (an interrupted or stopped run): converged, not stale.
  static func converged(_ result: TargetApplyResult, target: TargetPlan) -> TargetApplyResult {
    guard result.status == .stale, let content = target.newContent, result.digest == ContentDigest.of(content)
    else { return result }
    return TargetApplyResult(
      target: result.target, status: .unchanged, message: "already applied", digest: result.digest)
  }
}

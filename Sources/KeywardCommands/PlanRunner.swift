import ArgumentParser
import KeywardCore

/// Plans manifests against the chosen transport: the glue the plan and apply commands share.
enum PlanRunner {
  /// Plans over `channel`, the command's one transport (the caller made it and closes it).
  static func plan(
    _ desired: DesiredState, transport: TransportOptions, channel: any Transport, guards: GuardOptions,
    filter: [TargetPattern], revision: String? = nil
  ) async throws -> Plan {
    let selection = transport.selection(filter)
    if let names = selection.localHostNames, selection.reachable(desired).targets.isEmpty {
      Terminal.report(
        .warning,
        "no target in the manifests is on host \(names.sorted().map { "'\($0)'" }.joined(separator: " or ")); use --host NAME"
      )
    }
    try checkPatterns(selection.unmatchedPatterns(in: desired))
    var options = guards.plannerOptions()
    options.revision = revision
    let planner = Planner(options: options)
    var plan: Plan
    if !transport.noSSHDModel, let source = channel as? any SSHDModelSource {
      plan = await planner.plan(desired, transport: channel, sshd: source, selection: selection)
    } else {
      plan = await planner.plan(desired, transport: channel, selection: selection)
    }
    if let router = channel as? HostRouter {
      let hosts = Set(plan.targets.map(\.id.host))
      plan.transports = router.choices.filter { hosts.contains($0.key) }
    }
    return plan
  }

  /// A `--target` pattern that matches no target is a typo, not an empty plan: exit 1 naming it.
  static func checkPatterns(_ unmatched: [TargetPattern]) throws {
    guard !unmatched.isEmpty else { return }
    let names = unmatched.map { "'\($0.pattern)'" }.joined(separator: ", ")
    let noun = unmatched.count == 1 ? "pattern" : "patterns"
    Terminal.report(
      .error,
      "--target \(noun) \(names) \(unmatched.count == 1 ? "matches" : "match") no target in the manifests;"
        + " targets are named user@host (e.g. 'deploy@web1', '*@web*')")
    throw ExitCode(1)
  }
}

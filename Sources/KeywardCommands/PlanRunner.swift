import ArgumentParser
import KeywardCore

/// Plans manifests against the chosen transport: the glue the plan and apply commands share.
enum PlanRunner {
  static func plan(
    _ desired: DesiredState, transport: TransportOptions, guards: GuardOptions, filter: [TargetPattern],
    revision: String? = nil
  ) async throws -> Plan {
    let scoped = transport.scope(desired)
    if transport.local && scoped.targets.isEmpty {
      Terminal.report(
        .warning,
        "no target in the manifests is on host \(transport.localHostNames().sorted().map { "'\($0)'" }.joined(separator: " or ")); use --host NAME"
      )
    }
    try checkPatterns(filter, against: scoped)
    let channel = try transport.makeTransport(hosts: scoped.hosts)
    var options = guards.plannerOptions()
    options.revision = revision
    let planner = Planner(options: options)
    if !transport.noSSHDModel, let source = channel as? any SSHDModelSource {
      return await planner.plan(scoped, transport: channel, sshd: source, filter: filter)
    }
    return await planner.plan(scoped, transport: channel, filter: filter)
  }

  /// A `--target` pattern that matches no target is a typo, not an empty plan: exit 1 naming it.
  static func checkPatterns(_ filter: [TargetPattern], against desired: DesiredState) throws {
    let unmatched = filter.filter { pattern in !desired.targets.contains { pattern.matches($0.id) } }
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

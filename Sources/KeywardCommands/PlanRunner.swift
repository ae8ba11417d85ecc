import KeywardCore

/// Plans manifests against the chosen transport: the glue the plan and apply commands share.
enum PlanRunner {
  static func plan(
    _ desired: DesiredState, transport: TransportOptions, guards: GuardOptions, filter: [TargetPattern]
  ) async throws -> Plan {
    let scoped = transport.scope(desired)
    if transport.local && scoped.targets.isEmpty {
      Terminal.error(
        "warning: no target in the manifests is on host \(transport.localHostNames().sorted().map { "'\($0)'" }.joined(separator: " or ")); use --host NAME"
      )
    }
    let channel = try transport.makeTransport(hosts: scoped.hosts)
    let planner = Planner(options: guards.plannerOptions())
    if !transport.noSSHDModel, let source = channel as? any SSHDModelSource {
      return await planner.plan(scoped, transport: channel, sshd: source, filter: filter)
    }
    return await planner.plan(scoped, transport: channel, filter: filter)
  }
}

extension Planner {
  /// Fetches the targets of `desired` (those matching `filter`, when given) through
  /// `transport` and plans them. Only the fetch does I/O.
  public func plan(
    _ desired: DesiredState, transport: some Transport, filter: [TargetPattern] = []
  ) async -> Plan {
    var scoped = desired
    if !filter.isEmpty {
      scoped.targets = desired.targets.filter { target in filter.contains { $0.matches(target.id) } }
    }
    let requests = scoped.targets.map { FetchRequest(id: $0.id, follow: $0.follow) }
    let observed = requests.isEmpty ? [:] : await transport.fetch(requests)
    return plan(scoped, observed: observed)
  }
}

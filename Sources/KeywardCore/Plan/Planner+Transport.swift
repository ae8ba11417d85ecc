extension Planner {
  /// Fetches the targets of `desired` that `selection` selects through `transport` and plans
  /// them. Only the fetch does I/O.
  public func plan(
    _ desired: DesiredState, transport: some Transport, selection: TargetSelection = TargetSelection()
  ) async -> Plan {
    let scoped = selection.select(desired)
    // A path the confinement rules refuse is never fetched.
    var refused: [TargetID: Result<ObservedTarget, TransportError>] = [:]
    var requests: [FetchRequest] = []
    for target in scoped.targets {
      if let problem = PathConfinement.problem(
        inPath: target.id.path, allowOutsideHome: target.allowOutsideHome)
      {
        refused[target.id] = .failure(
          TransportError(code: .pathRefused, host: target.id.host, step: .plan, message: problem))
        continue
      }
      requests.append(
        FetchRequest(
          id: target.id, follow: target.follow, allowOutsideHome: target.allowOutsideHome,
          allowActingAsRoot: target.actAsRoot))
    }
    var observed = requests.isEmpty ? [:] : await transport.fetch(requests)
    observed.merge(refused) { a, _ in a }
    return plan(scoped, observed: observed)
  }
}

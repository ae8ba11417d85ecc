import AuthorizedKeys

/// Plans putting back the newest backup of each target: the exact bytes of the backup,
/// shown as a diff of keys like any plan, checked by the same guards (the login key, an
/// empty account), and applied with the same compare-and-swap.
public struct RollbackPlanner: Sendable {
  public var options: PlannerOptions

  public init(options: PlannerOptions = PlannerOptions()) {
    self.options = options
  }

  public func plan(
    _ targets: [TargetID], observed: [TargetID: Result<ObservedTarget, TransportError>],
    hosts: [String: HostSpec] = [:]
  ) -> Plan {
    Plan(
      targets: targets.map { id in
        switch observed[id] {
        case .success(let state): return plan(state)
        case .failure(let error):
          return TargetPlan(
            id: id, mode: .exclusive, status: .error, observedDigest: nil, error: error.description)
        case nil:
          return TargetPlan(
            id: id, mode: .exclusive, status: .error, observedDigest: nil, error: "target was not fetched")
        }
      }, hosts: hosts)
  }

  /// One target: the backup becomes the desired content.
  public func plan(_ observed: ObservedTarget) -> TargetPlan {
    guard let backup = observed.latestBackup else {
      return TargetPlan(
        id: observed.id, mode: .exclusive, status: .error, observedDigest: observed.digest,
        error: "no keyward backup of \(observed.absolutePath) to roll back to"
          + observed.warnings.map { "; \($0)" }.joined())
    }
    let reason = "restore \(backup.name)"
    let entries = AuthorizedKeysFile(bytes: backup.content).lines.compactMap { line -> DesiredEntry? in
      guard let entry = line.entry else { return nil }
      return DesiredEntry(
        keyName: entry.comment ?? "(backup)", key: entry.key, options: entry.options, comment: entry.comment,
        rule: reason)
    }
    let target = DesiredTarget(id: observed.id, mode: .exclusive, entries: entries)
    var result = Planner(options: options).plan(target, observed: observed, revoked: [:], protected: [])
    guard result.status != .error else { return result }
    if observed.content == backup.content && result.fileActions.isEmpty {
      result.status = .unchanged
      result.newContent = nil
      result.changes = []
      return result
    }
    result.status = .changes
    result.newContent = backup.content
    for index in result.changes.indices { result.changes[index].keyName = nil }
    return result
  }
}

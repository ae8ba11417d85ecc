import AuthorizedKeys

/// Plans putting back the keys of the newest backup of each target, through every guard a plan
/// has: a key the manifests revoke or their policy refuses is not restored (with a warning), a
/// protected key is never removed, the key keyward logged in with is kept, an account is never
/// emptied. The new file is what the planner makes of the backup's key lines (their options and
/// comments), shown as a diff like any plan and applied with the same compare-and-swap.
public struct RollbackPlanner: Sendable {
  public var options: PlannerOptions

  public init(options: PlannerOptions = PlannerOptions()) {
    self.options = options
  }

  /// Plans `targets`; `guards` supplies the revocations, protected keys and policy (the
  /// manifests' `DesiredState`), and how to reach each host.
  public func plan(
    _ targets: [TargetID], observed: [TargetID: Result<ObservedTarget, TransportError>],
    guards: DesiredState
  ) -> Plan {
    let revoked = Dictionary(guards.revoked.map { ($0.fingerprint, $0) }, uniquingKeysWith: { a, _ in a })
    let desired = Dictionary(guards.targets.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    return Plan(
      targets: targets.map { id in
        switch observed[id] {
        case .success(let state):
          return plan(state, revoked: revoked, guards: guards, target: desired[id])
        case .failure(let error):
          return TargetPlan(
            id: id, mode: .exclusive, status: .error, observedDigest: nil, error: error.description)
        case nil:
          return TargetPlan(
            id: id, mode: .exclusive, status: .error, observedDigest: nil, error: "target was not fetched")
        }
      }, hosts: guards.hosts)
  }

  /// One target: the backup's key lines become the desired entries.
  public func plan(
    _ observed: ObservedTarget, revoked: [String: Revocation], guards: DesiredState, target: DesiredTarget?
  ) -> TargetPlan {
    guard let backup = observed.latestBackup else {
      return TargetPlan(
        id: observed.id, mode: .exclusive, status: .error, observedDigest: observed.digest,
        error: "no keyward backup of \(observed.absolutePath) to roll back to"
          + observed.warnings.map { "; \($0)" }.joined())
    }
    let reason = "restore \(backup.name)"
    var warnings: [String] = []
    var entries: [DesiredEntry] = []
    for line in AuthorizedKeysFile(bytes: backup.content).lines {
      guard let entry = line.entry else { continue }
      let fingerprint = entry.key.fingerprint
      if let revocation = revoked[fingerprint] {
        warnings.append(
          "\(fingerprint) in \(backup.name) is revoked (\(revocation.reason)); it is not restored")
        continue
      }
      if let problem = guards.policy.problem(entry.key) {
        warnings.append("\(fingerprint) in \(backup.name) is not restored: \(problem)")
        continue
      }
      entries.append(
        DesiredEntry(
          keyName: entry.comment ?? "(backup)", key: entry.key, options: entry.options,
          comment: entry.comment,
          rule: reason))
    }
    let desired = DesiredTarget(
      id: observed.id, mode: .exclusive, entries: entries, follow: target?.follow ?? false,
      allowOutsideHome: target?.allowOutsideHome ?? false, actAsRoot: target?.actAsRoot ?? false)
    var result = Planner(options: options).plan(
      desired, observed: observed, revoked: revoked, protected: guards.protectedFingerprints)
    result.warnings = warnings + result.warnings
    for index in result.changes.indices { result.changes[index].keyName = nil }
    return result
  }
}

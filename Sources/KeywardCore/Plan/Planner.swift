import AuthorizedKeys
import Foundation

/// Turns (desired state, observed state) into a plan. A pure function: no I/O, no clock
/// (`PlannerOptions.now`), same inputs give the same plan.
public struct Planner: Sendable {
  public var options: PlannerOptions

  public init(options: PlannerOptions = PlannerOptions()) {
    self.options = options
  }

  /// Plans every desired target against what was observed (or the error fetching it).
  public func plan(
    _ desired: DesiredState, observed: [TargetID: Result<ObservedTarget, TransportError>]
  ) -> Plan {
    let revoked = Dictionary(desired.revoked.map { ($0.fingerprint, $0) }, uniquingKeysWith: { a, _ in a })
    let targets = desired.targets.map { target -> TargetPlan in
      switch observed[target.id] {
      case .success(let state):
        return plan(
          target, observed: state, revoked: revoked, protected: desired.protectedFingerprints,
          keyNames: desired.keyNames)
      case .failure(let error):
        return TargetPlan(
          id: target.id, mode: target.mode, status: .error, observedDigest: nil,
          error: error.description, follow: target.follow)
      case nil:
        return TargetPlan(
          id: target.id, mode: target.mode, status: .error, observedDigest: nil,
          error: "target was not fetched", follow: target.follow)
      }
    }
    var whole = Plan(targets: Self.refuseSharedFiles(targets, observed: observed), hosts: desired.hosts)
    let limit = options.maxRemovals ?? desired.maxRemovals
    let removals = whole.summary.remove
    if let limit, removals > limit {
      let names = whole.targets.filter { $0.count(.remove) > 0 }.map(\.id.description)
      whole.errors.append(
        "plan removes \(removals) keys, more than the limit of \(limit), on \(names.count) targets: "
          + names.joined(separator: ", ") + "; raise --max-removals on purpose to apply it")
    }
    return whole
  }

  /// Two targets that resolve to one file on a host (alice's rule naming bob's file, say)
  /// would each change the other account's access: both are refused.
  static func refuseSharedFiles(
    _ targets: [TargetPlan], observed: [TargetID: Result<ObservedTarget, TransportError>]
  ) -> [TargetPlan] {
    var byFile: [String: [Int]] = [:]
    for (index, target) in targets.enumerated() {
      guard case .success(let state)? = observed[target.id] else { continue }
      byFile[target.id.host + "\u{0}" + state.absolutePath, default: []].append(index)
    }
    var result = targets
    for indices in byFile.values where indices.count > 1 {
      let names = indices.map { targets[$0].id.description }
      for index in indices {
        let others = names.filter { $0 != targets[index].id.description }
        result[index].status = .error
        result[index].changes = []
        result[index].lineChanges = []
        result[index].fileActions = []
        result[index].newContent = nil
        result[index].error =
          "this file is also the file of \(others.map { "'\($0)'" }.joined(separator: ", ")); a write for"
          + " one account would change another's access, so keyward writes neither"
      }
    }
    return result
  }

  /// Whether the key this run logged in with must be kept in this target's file: the file is
  /// the login account's own target, or lies in the login account's home (sshd reads it for
  /// that account), or the transport did not say which account it logged in as.
  func loginKeyIsGuarded(_ target: DesiredTarget, _ observed: ObservedTarget) -> Bool {
    guard observed.loginKeyFingerprint != nil else { return false }
    guard let user = observed.loginUser else { return true }
    if user == target.id.user { return true }
    if let home = observed.loginHome, PathConfinement.isInside(observed.absolutePath, home: home) {
      return true
    }
    return false
  }

  // MARK: - Helpers

  static func sameOptions(_ a: [KeyOption], _ b: [KeyOption]) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { $0.name.lowercased() == $1.name.lowercased() && $0.value == $1.value }
  }

  static func label(_ change: KeyChange) -> String {
    if let name = change.keyName { return "'\(name)' (\(change.fingerprint))" }
    return change.fingerprint
  }

}

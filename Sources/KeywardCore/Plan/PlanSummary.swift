/// The counts a plan closes with.
public struct PlanSummary: Hashable, Sendable, Codable {
  public var add: Int
  public var update: Int
  public var remove: Int
  /// Targets that will be written.
  public var changed: Int
  public var unchanged: Int
  /// Targets that could not be planned.
  public var errors: Int

  public init(targets: [TargetPlan]) {
    add = targets.reduce(0) { $0 + $1.count(.add) }
    update = targets.reduce(0) { $0 + $1.count(.update) }
    remove = targets.reduce(0) { $0 + $1.count(.remove) }
    changed = targets.count { $0.status == .changes }
    unchanged = targets.count { $0.status == .unchanged }
    errors = targets.count { $0.status == .error }
  }

  /// `Plan: N to add, M to update, K to remove on T targets (U unchanged).`
  public var line: String {
    let noun = changed == 1 ? "target" : "targets"
    var text =
      "Plan: \(add) to add, \(update) to update, \(remove) to remove on \(changed) \(noun) (\(unchanged) unchanged)"
    if errors > 0 { text += ", \(errors) failed" }
    return text + "."
  }
}

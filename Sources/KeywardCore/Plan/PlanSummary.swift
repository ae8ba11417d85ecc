/// The counts a plan closes with.
public struct PlanSummary: Hashable, Sendable, Codable {
  public var add: Int
  public var update: Int
  public var remove: Int
  /// Targets that will be written.
  public var changed: Int
  public var unchanged: Int
  /// Targets that could not be planned, plus errors of the plan as a whole (`Plan.errors`,
  /// such as a refusal for too many removals), so 0 means nothing stood in the way.
  public var errors: Int
  /// Changes by origin (`ChangeOrigin`): the manifests asked for them, they undo an edit made
  /// on the host, or the file holds no record to tell.
  public var intent: Int
  public var drift: Int
  public var unknown: Int
  /// Targets whose file changed since keyward last wrote it (`FileHistory.changed`), whether
  /// or not the plan changes them (an additive target keeps a hand-added key).
  public var drifted: Int

  public init(targets: [TargetPlan], planErrors: Int = 0) {
    add = targets.reduce(0) { $0 + $1.count(.add) }
    update = targets.reduce(0) { $0 + $1.count(.update) }
    remove = targets.reduce(0) { $0 + $1.count(.remove) }
    changed = targets.count { $0.status == .changes }
    unchanged = targets.count { $0.status == .unchanged }
    errors = targets.count { $0.status == .error } + planErrors
    let counted = targets.filter { $0.status == .changes }
    intent = counted.reduce(0) { $0 + $1.count(ChangeOrigin.intent) }
    drift = counted.reduce(0) { $0 + $1.count(ChangeOrigin.drift) }
    unknown = counted.reduce(0) { $0 + $1.count(ChangeOrigin.unknown) }
    drifted = targets.count { $0.history == .changed }
  }

  private enum CodingKeys: String, CodingKey {
    case add, update, remove, changed, unchanged, errors, intent, drift, unknown, drifted
  }

  /// Reads summaries written before origins were counted (their counts are 0).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    add = try c.decode(Int.self, forKey: .add)
    update = try c.decode(Int.self, forKey: .update)
    remove = try c.decode(Int.self, forKey: .remove)
    changed = try c.decode(Int.self, forKey: .changed)
    unchanged = try c.decode(Int.self, forKey: .unchanged)
    errors = try c.decode(Int.self, forKey: .errors)
    intent = try c.decodeIfPresent(Int.self, forKey: .intent) ?? 0
    drift = try c.decodeIfPresent(Int.self, forKey: .drift) ?? 0
    unknown = try c.decodeIfPresent(Int.self, forKey: .unknown) ?? 0
    drifted = try c.decodeIfPresent(Int.self, forKey: .drifted) ?? 0
  }

  /// `Plan: N to add, M to update, K to remove on T targets (U unchanged).`
  public var line: String {
    let noun = changed == 1 ? "target" : "targets"
    var text =
      "Plan: \(add) to add, \(update) to update, \(remove) to remove on \(changed) \(noun) (\(unchanged) unchanged)"
    if errors > 0 { text += ", \(errors) failed" }
    return text + "."
  }

  /// `Origin: I intent (manifest changes), D drift (undo edits made on hosts), U unknown history.`
  /// `nil` when nothing changes and no file drifted.
  public var originLine: String? {
    guard intent + drift + unknown > 0 || drifted > 0 else { return nil }
    var text = "Origin: \(intent) intent (manifest changes), \(drift) drift (undo edits made on hosts)"
    if unknown > 0 { text += ", \(unknown) unknown (no record of keyward's last write)" }
    if drifted > 0 {
      text += "; \(drifted) \(drifted == 1 ? "file" : "files") changed on the host since keyward wrote it"
    }
    return text + "."
  }
}

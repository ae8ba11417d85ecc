/// Changes counted by origin, for one target or a whole run.
public struct OriginCounts: Hashable, Sendable, Codable {
  public var intent: Int
  public var drift: Int
  public var unknown: Int

  public init(intent: Int = 0, drift: Int = 0, unknown: Int = 0) {
    self.intent = intent
    self.drift = drift
    self.unknown = unknown
  }

  /// The counts of one target's changes.
  public init(_ target: TargetPlan) {
    self.init(intent: target.count(.intent), drift: target.count(.drift), unknown: target.count(.unknown))
  }
}

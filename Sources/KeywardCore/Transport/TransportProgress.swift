/// How far a transport is through one batch of targets, for a progress display. Transports
/// never print: they call back with these values and the command line renders them.
public struct TransportProgress: Hashable, Sendable {
  /// What the batch does.
  public enum Phase: String, Hashable, Sendable {
    case reading
    case writing
  }

  public var phase: Phase
  /// Targets finished so far (each with its own result, success or not).
  public var done: Int
  /// Targets in the batch.
  public var total: Int
  /// True once, when the batch is over: a display can be cleared.
  public var finished: Bool

  public init(phase: Phase, done: Int, total: Int, finished: Bool = false) {
    self.phase = phase
    self.done = done
    self.total = total
    self.finished = finished
  }
}

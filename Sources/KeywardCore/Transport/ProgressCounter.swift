import Synchronization

/// Counts the targets of one batch as the workers finish them and reports each step to a
/// transport's progress callback (from whichever worker thread finished; the callback must be
/// thread-safe). Reports nothing when there is no callback. Both SSH transports use it.
public final class ProgressCounter: Sendable {
  private let phase: TransportProgress.Phase
  private let total: Int
  private let report: (@Sendable (TransportProgress) -> Void)?
  private let done = Mutex(0)

  public init(_ phase: TransportProgress.Phase, total: Int, report: (@Sendable (TransportProgress) -> Void)?)
  {
    self.phase = phase
    self.total = total
    self.report = report
  }

  /// `count` more targets are done.
  public func advance(by count: Int) {
    guard let report else { return }
    // Reported under the lock, so the counts arrive in order.
    done.withLock { done in
      done += count
      report(TransportProgress(phase: phase, done: done, total: total))
    }
  }

  /// The batch is over.
  public func finish() {
    guard let report else { return }
    done.withLock { done in report(TransportProgress(phase: phase, done: done, total: total, finished: true))
    }
  }
}

import KeywardCore
import Synchronization

/// Counts the targets of one batch as the workers finish them and reports each step to
/// `SSHSettings.progress` (from whichever worker thread finished; the callback must be
/// thread-safe). Reports nothing when there is no callback.
final class ProgressCounter: Sendable {
  private let phase: TransportProgress.Phase
  private let total: Int
  private let report: (@Sendable (TransportProgress) -> Void)?
  private let done = Mutex(0)

  init(_ phase: TransportProgress.Phase, total: Int, report: (@Sendable (TransportProgress) -> Void)?) {
    self.phase = phase
    self.total = total
    self.report = report
  }

  func advance(by count: Int) {
    guard let report else { return }
    // Reported under the lock, so the counts arrive in order.
    done.withLock { done in
      done += count
      report(TransportProgress(phase: phase, done: done, total: total))
    }
  }

  func finish() {
    guard let report else { return }
    done.withLock { done in report(TransportProgress(phase: phase, done: done, total: total, finished: true))
    }
  }
}

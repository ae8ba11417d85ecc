import KeywardCore
import Synchronization

/// One progress line for the two transports behind a `HostRouter`: each reports its own batch
/// (libssh2 hosts and `ssh` hosts side by side); the line shows their sum, and ends when every
/// batch of that phase has ended.
final class ProgressTally: Sendable {
  private let batches = Mutex<[TransportKind: TransportProgress]>([:])
  private let render: @Sendable (TransportProgress) -> Void

  init(render: @escaping @Sendable (TransportProgress) -> Void) {
    self.render = render
  }

  /// The callback to give the transport of `kind`.
  func reporter(for kind: TransportKind) -> @Sendable (TransportProgress) -> Void {
    { [self] progress in update(kind, progress) }
  }

  func update(_ kind: TransportKind, _ progress: TransportProgress) {
    // Rendered under the lock, so lines arrive in order.
    batches.withLock { batches in
      batches[kind] = progress
      let same = batches.values.filter { $0.phase == progress.phase }
      let finished = same.allSatisfy(\.finished)
      render(
        TransportProgress(
          phase: progress.phase, done: same.reduce(0) { $0 + $1.done },
          total: same.reduce(0) { $0 + $1.total },
          finished: finished))
      if finished { batches = batches.filter { $0.value.phase != progress.phase } }
    }
  }
}

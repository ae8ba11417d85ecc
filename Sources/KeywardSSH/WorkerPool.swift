import Foundation
import Synchronization

/// A bounded pool of real threads for blocking work (libssh2 calls), kept off Swift
/// concurrency's cooperative pool, which has only as many threads as cores.
///
/// Threads start on demand up to `width` and end when the queue is empty.
final class WorkerPool: Sendable {
  let width: Int
  private struct State {
    var queue: [@Sendable () -> Void] = []
    var head = 0
    var running = 0
  }
  private let state = Mutex(State())

  init(width: Int) {
    self.width = max(1, width)
  }

  /// Runs `job` on a pool thread and returns its result.
  func run<T: Sendable>(_ job: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
      submit { continuation.resume(returning: job()) }
    }
  }

  /// Queues `job`; starts a thread when fewer than `width` are running.
  func submit(_ job: @escaping @Sendable () -> Void) {
    let start = state.withLock { state -> Bool in
      state.queue.append(job)
      guard state.running < width else { return false }
      state.running += 1
      return true
    }
    if start {
      let thread = Thread { [self] in drain() }
      thread.stackSize = 1 << 20
      thread.start()
    }
  }

  private func drain() {
    while true {
      let job = state.withLock { state -> (@Sendable () -> Void)? in
        guard state.head < state.queue.count else {
          state.queue.removeAll()
          state.head = 0
          state.running -= 1
          return nil
        }
        defer { state.head += 1 }
        return state.queue[state.head]
      }
      guard let job else { return }
      job()
    }
  }
}

import Foundation
import Synchronization

/// Enforces hard deadlines: when one passes, the socket is shut down from this thread, so every
/// libssh2 call blocked on it returns (a syscall, so it is race-free against the owning thread).
final class Watchdog: Sendable {
  static let shared = Watchdog()

  private struct State {
    var entries: [Int: (deadline: ContinuousClock.Instant, fd: Int32)] = [:]
    var next = 0
    var running = false
  }
  private let state = Mutex(State())

  /// Arms a deadline for `fd`; returns a token to disarm it.
  func arm(fd: Int32, after duration: Duration) -> Int {
    let (token, start) = state.withLock { state -> (Int, Bool) in
      state.next += 1
      state.entries[state.next] = (ContinuousClock.now + duration, fd)
      let start = !state.running
      state.running = true
      return (state.next, start)
    }
    if start { Thread { [self] in loop() }.start() }
    return token
  }

  /// Disarms; returns true when the deadline had already fired.
  @discardableResult
  func disarm(_ token: Int) -> Bool {
    state.withLock { $0.entries.removeValue(forKey: token) == nil }
  }

  private func loop() {
    while true {
      Thread.sleep(forTimeInterval: 0.05)
      let now = ContinuousClock.now
      let expired = state.withLock { state -> [Int32]? in
        if state.entries.isEmpty {
          state.running = false
          return nil
        }
        let due = state.entries.filter { $0.value.deadline <= now }
        for key in due.keys { state.entries.removeValue(forKey: key) }
        return due.values.map(\.fd)
      }
      guard let expired else { return }
      for fd in expired { SSHSession.abort(fd: fd) }
    }
  }
}

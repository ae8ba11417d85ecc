import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Test-only fault injection in the write path: a hook called at fixed points of every write,
/// so tests can kill the connection or the process exactly there.
///
/// From the environment (`KEYWARD_TEST_FAULT`, the convention `LocalTransport` uses):
/// `ssh-after-lock`, `ssh-after-temp`, `ssh-before-rename` or `ssh-write-offset:N` make the process
/// exit with status 70 at that point (so its connection dies mid-write).
struct FaultInjection: Sendable {
  /// Where a write can be interrupted.
  /// Where a write can be interrupted: `SafeReplace`'s checkpoints.
  typealias Point = SafeReplace.Checkpoint

  /// Called at each point with the session's socket.
  var hook: @Sendable (Point, Int32) -> Void

  /// Compiled into debug builds only: a release binary ignores `KEYWARD_TEST_FAULT`.
  static func fromEnvironment() -> FaultInjection? {
    #if DEBUG
      guard let fault = TestFault(ProcessInfo.processInfo.environment["KEYWARD_TEST_FAULT"], prefix: "ssh-")
      else { return nil }
      return FaultInjection { point, _ in
        if fault.hits(point) { _exit(70) }
      }
    #else
      return nil
    #endif
  }
}

import Foundation

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
  enum Point: Equatable, Sendable {
    case afterLock
    /// `offset` bytes of the temp file are written.
    case writing(offset: Int, total: Int)
    case afterTemp
    case beforeRename
  }

  /// Called at each point with the session's socket.
  var hook: @Sendable (Point, Int32) -> Void

  /// Compiled into debug builds only: a release binary ignores `KEYWARD_TEST_FAULT`.
  static func fromEnvironment() -> FaultInjection? {
    #if DEBUG
      guard let value = ProcessInfo.processInfo.environment["KEYWARD_TEST_FAULT"], value.hasPrefix("ssh-")
      else { return nil }
      let offset = value.hasPrefix("ssh-write-offset:") ? Int(value.split(separator: ":")[1]) : nil
      return FaultInjection { point, _ in
        switch (point, value) {
        case (.afterLock, "ssh-after-lock"), (.afterTemp, "ssh-after-temp"),
          (.beforeRename, "ssh-before-rename"):
          _exit(70)
        case (.writing(let at, _), _) where offset.map({ at >= $0 }) == true:
          _exit(70)
        default:
          break
        }
      }
    #else
      return nil
    #endif
  }
}

import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Every `ssh` process this module has started and not yet reaped, by PID, so that whatever
/// ends the run (the end of a command, an error exit, SIGTERM) can stop exactly those
/// processes: never by name, never another process.
public enum SSHProcesses {
  private static let live = Mutex<Set<pid_t>>([])
  /// The private runtime directories (control sockets, logs) not yet removed.
  private static let directories = Mutex<Set<String>>([])

  static func made(directory: String) { directories.withLock { _ = $0.insert(directory) } }
  static func removed(directory: String) { directories.withLock { _ = $0.remove(directory) } }

  static func started(_ pid: pid_t) { live.withLock { _ = $0.insert(pid) } }
  static func reaped(_ pid: pid_t) { live.withLock { _ = $0.remove(pid) } }

  /// The PIDs of the `ssh` processes still running (for tests and diagnostics).
  public static var running: [pid_t] { live.withLock { Array($0).sorted() } }

  /// Stops every `ssh` still running: SIGTERM, a short grace, then SIGKILL, each by PID and
  /// reaped. For exit paths (a signal, `exit`); transports close their own processes normally.
  public static func stopAll(grace: Duration = .milliseconds(500)) {
    let pids = live.withLock { pids in
      defer { pids.removeAll() }
      return Array(pids)
    }
    defer {
      let left = directories.withLock { dirs in
        defer { dirs.removeAll() }
        return Array(dirs)
      }
      for directory in left { try? FileManager.default.removeItem(atPath: directory) }
    }
    guard !pids.isEmpty else { return }
    for pid in pids { kill(pid, SIGTERM) }
    let deadline = ContinuousClock.now + grace
    var left = Set(pids)
    while !left.isEmpty && ContinuousClock.now < deadline {
      var status: Int32 = 0
      for pid in left where waitpid(pid, &status, WNOHANG) != 0 { left.remove(pid) }
      if !left.isEmpty { usleep(10_000) }
    }
    for pid in left {
      kill(pid, SIGKILL)
      var status: Int32 = 0
      _ = waitpid(pid, &status, 0)
    }
  }
}

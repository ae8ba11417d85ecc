import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A lock on one target file, held by one keyward run: `<dir>/<file>.keyward-lock`, created
/// exclusively with mode 0600 by whoever the primitives act as.
///
/// It holds only what breaking a stale lock needs: an opaque holder id (a digest of this
/// machine's name and boot id, so that nothing about the machine shows), the pid and a random
/// token. A lock is broken (with a warning) when its mtime is more than `staleAfter` old, or when
/// its holder is provably gone: same machine and boot, and the process is dead, or it is this
/// process and the lock is not one it holds. A live lock is waited for, then the target fails.
struct TargetLock {
  let path: String
  let token: String

  /// Suffix of the lock file's name.
  static let suffix = ".keyward-lock"
  static let staleAfter: Int64 = 120
  static let header = "keyward-lock v2"

  /// This process: its holder id (machine and boot) and pid.
  static let me: (holder: String, pid: Int32) = {
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, name.count - 1)
    let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let boot =
      (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    let digest = SHA256.hash(data: Array((host + "\n" + boot).utf8))
    let hex = digest.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    return (hex, getpid())
  }()

  /// Tokens of the locks this process holds right now.
  private static let held = Mutex<Set<String>>([])

  /// Takes the lock beside `name` in `directory`, waiting up to `wait` for a live holder.
  /// Returns the lock and, when a stale lock had to be broken, a warning saying so.
  static func acquire(
    _ target: TargetFiles, directory: String, name: String, wait: Duration, now: () -> Int64
  ) throws(TransportError) -> (TargetLock, String?) {
    let fs = target.fs
    let path = directory + "/" + name + suffix
    let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    let content = Array("\(header)\nholder \(me.holder)\npid \(me.pid)\ntoken \(token)\n".utf8)
    let deadline = ContinuousClock.now + wait
    var broke: String?
    var failures = 0
    while true {
      held.withLock { _ = $0.insert(token) }
      let created: FileSystemError?
      do throws(FileSystemError) {
        let handle = try fs.createExclusive(path, mode: 0o600)
        defer { fs.close(handle) }
        do throws(FileSystemError) {
          try fs.write(handle, offset: 0, bytes: content)
        } catch {
          try? fs.unlink(path)
          throw error
        }
        return (TargetLock(path: path, token: token), broke)
      } catch {
        created = error
      }
      held.withLock { _ = $0.remove(token) }
      if let created, created.kind == .connectionLost || created.kind == .permissionDenied {
        throw target.error(created, step: .lock)
      }
      guard let status = try? fs.status(path, follow: false) else {
        // SFTP v3 reports "exists" as a generic failure: when the lock vanished meanwhile (its
        // holder released it), try again; when it never existed, the create itself failed.
        failures += 1
        if failures < 5 { continue }
        throw target.error(
          .lockFailed, .lock,
          "could not create the lock file '\(path)': \(created.map(\.description) ?? "unknown error")")
      }
      let judged = contents(fs, path, status: status)
      let holder = Holder(judged)
      let age = now() - status.modified
      if age > staleAfter || holder.isGone {
        let why = age > staleAfter ? "it was \(age) s old" : "its process is gone"
        broke = "broke the lock '\(path)' held by \(holder.summary) (\(why))"
        breakLock(fs, path: path, judged: judged, token: token)
        continue
      }
      if ContinuousClock.now >= deadline {
        throw target.error(
          .locked, .lock,
          "'\(path)' is locked by \(holder.summary), \(age) s ago; another keyward run is writing this"
            + " file: wait for it and run again (a lock older than \(staleAfter) s is broken)")
      }
      usleep(UInt32.random(in: 100_000...300_000))
    }
  }

  /// A lock file's bytes (at most 4 KiB), read only when it is a regular file.
  static func contents(_ fs: any FilePrimitives, _ path: String, status: FileStatus?) -> [UInt8] {
    guard status?.kind == .regular, let handle = try? fs.openForReading(path, follow: false) else {
      return []
    }
    defer { fs.close(handle) }
    guard (try? fs.status(of: handle))?.kind == .regular else { return [] }
    return (try? fs.read(handle, offset: 0, count: 4096)) ?? []
  }

  /// Breaks a stale lock without ever removing a fresh one: moves it aside atomically, and when
  /// what was moved is not the lock judged stale (another run broke it and locked meanwhile),
  /// links it back unless a newer lock already exists.
  private static func breakLock(_ fs: any FilePrimitives, path: String, judged: [UInt8], token: String) {
    let aside = path + ".broken-" + token
    do {
      try fs.rename(path, to: aside)
    } catch {
      return  // already gone: someone else broke it; try again
    }
    let status = try? fs.status(aside, follow: false)
    if contents(fs, aside, status: status) != judged {
      try? fs.link(aside, to: path)
    }
    try? fs.unlink(aside)
  }

  /// Removes the lock file if it is still this run's (best effort: a lock left behind by a
  /// failing connection is provably stale: its token is no longer held, and it ages).
  func release(_ fs: any FilePrimitives) {
    defer { Self.held.withLock { _ = $0.remove(token) } }
    let status = try? fs.status(path, follow: false)
    if Holder(Self.contents(fs, path, status: status)).token == token {
      try? fs.unlink(path)
    }
  }

  /// Whether a lock with these bytes, `age` seconds old, would be broken by the next run.
  static func isBreakable(_ content: [UInt8], age: Int64) -> Bool {
    age > staleAfter || Holder(content).isGone
  }

  /// What a lock file says about its holder.
  struct Holder {
    var fields: [String: String] = [:]

    init(_ bytes: [UInt8]) {
      let text = String(decoding: bytes, as: UTF8.self)
      for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
      }
    }

    var token: String? { fields["token"] }

    var summary: String {
      guard let pid = fields["pid"].flatMap(Int32.init) else { return "an unknown holder" }
      let here = fields["holder"] == TargetLock.me.holder ? "this machine" : "another machine"
      return "keyward pid \(pid) on \(here)"
    }

    /// True when the holder ran on this machine in this boot and is provably not running.
    var isGone: Bool {
      let me = TargetLock.me
      guard fields["holder"] == me.holder, let pid = fields["pid"].flatMap(Int32.init) else { return false }
      if pid == me.pid {
        guard let token else { return false }
        return !TargetLock.held.withLock { $0.contains(token) }
      }
      return kill(pid, 0) != 0 && errno == ESRCH
    }
  }
}

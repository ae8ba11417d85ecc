import Foundation
import KeywardCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A lock on one target file, held by one keyward run: the file `<dir>/<file>.keyward-lock`,
/// created exclusively over SFTP (CREAT|EXCL) with the target user's rights and holding the run's identity.
///
/// A lock is broken (with a warning) when it is older than `staleAfter` by its mtime, or when its
/// holder is provably gone: same machine and boot, and the process is dead, or it is this process
/// and the lock is not one it holds. A live lock is waited for up to `wait`, then the target fails.
struct RemoteLock {
  let path: String
  let identity: String
  /// Warning about a lock that had to be broken to take this one.
  var brokeStale: String?

  /// Suffix of the lock file's name.
  static let suffix = ".keyward-lock"
  static let staleAfter: UInt64 = 120

  /// The identity of this process: host name, boot id, pid and start time.
  static let processIdentity: (host: String, boot: String, pid: Int32, started: String) = {
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, name.count - 1)
    let boot =
      (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    let started = ISO8601DateFormatter().string(from: Date())
    let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (host, boot, getpid(), started)
  }()

  /// Tokens of the locks this process holds right now.
  private static let held = Mutex<Set<String>>([])

  /// Takes the lock beside `file` in `directory`, waiting up to `wait` for a live holder.
  static func acquire(
    _ session: RemoteFiles, directory: String, file: String, wait: Duration = .seconds(20)
  ) throws(TransportError) -> RemoteLock {
    let path = directory + "/" + file + suffix
    let me = processIdentity
    let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    let identity =
      "keyward-lock v1\nhost \(me.host)\nboot \(me.boot)\npid \(me.pid)\nstarted \(me.started)\ntoken \(token)\n"
    let deadline = ContinuousClock.now + wait
    var broke: String?
    var vanished = 0
    while true {
      held.withLock { _ = $0.insert(token) }
      do throws(TransportError) {
        try session.createExclusive(path, content: Array(identity.utf8), mode: 0o600)
        return RemoteLock(path: path, identity: token, brokeStale: broke)
      } catch {
        held.withLock { _ = $0.remove(token) }
        // Someone holds it (or the create failed for another reason: find out which).
        guard let status = try session.attributes(path, follow: false, step: "lock") else {
          // SFTP v3 reports "exists" as a generic failure: when the lock vanished meanwhile (its
          // holder released it), try again; when it never existed, the create itself failed.
          vanished += 1
          if vanished < 5 { continue }
          throw TransportError(
            code: "lock-failed", host: session.host, step: "lock",
            message:
              "could not create the lock file '\(path)': \(TargetOperations.explainFailure(error).message)")
        }
        let content = (try? session.read(path, step: "lock")).flatMap { $0 } ?? []
        let holder = Holder(String(decoding: content, as: UTF8.self))
        let age = UInt64(max(0, time(nil))) &- status.modified
        let stale = status.modified > 0 && UInt64(time(nil)) > status.modified && age > staleAfter
        if stale || holder.isGone {
          let why = stale ? "it was \(age) s old" : "its process is gone"
          broke = "broke the lock '\(path)' held by \(holder.summary) (\(why))"
          breakLock(session, path: path, judged: content, token: token)
          continue
        }
        if ContinuousClock.now >= deadline {
          throw TransportError(
            code: "locked", host: session.host, step: "lock",
            message:
              "'\(path)' is locked by \(holder.summary), \(age) s ago; another keyward run is writing"
              + " this file: wait for it and run again (a lock older than \(staleAfter) s is broken)")
        }
        Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.3))
      }
    }
  }

  /// Breaks a stale lock without ever removing a fresh one: moves it aside atomically, and when
  /// what was moved is not the lock judged stale (another run broke it and locked meanwhile),
  /// links it back unless a newer lock already exists.
  private static func breakLock(_ session: RemoteFiles, path: String, judged: [UInt8], token: String) {
    let aside = path + ".broken-" + token
    do {
      guard try session.posixRename(path, aside) else {
        session.unlink(path)
        return
      }
    } catch {
      return  // already gone: someone else broke it; try again
    }
    if (try? session.read(aside, step: "lock")) != judged {
      _ = try? session.hardLink(aside, path)
    }
    session.unlink(aside)
  }

  /// Removes the lock file (best effort: a lock left behind by a dead connection goes stale).
  func release(_ session: RemoteFiles) {
    defer { Self.held.withLock { _ = $0.remove(identity) } }
    // Only remove it if it is still ours.
    if let bytes = try? session.read(path, step: "lock"),
      Holder(String(decoding: bytes, as: UTF8.self)).token == identity
    {
      session.unlink(path)
    }
  }

  /// What a lock file says about its holder.
  struct Holder {
    var fields: [String: String] = [:]

    init(_ text: String) {
      for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
      }
    }

    var token: String? { fields["token"] }

    var summary: String {
      guard let host = fields["host"], let pid = fields["pid"] else { return "an unknown holder" }
      return "keyward pid \(pid) on '\(host)' (started \(fields["started"] ?? "at an unknown time"))"
    }

    /// True when the holder ran on this machine in this boot and is provably not running.
    var isGone: Bool {
      let me = RemoteLock.processIdentity
      guard fields["host"] == me.host, fields["boot"] == me.boot, let pid = fields["pid"].flatMap(Int32.init)
      else { return false }
      if pid == me.pid {
        guard let token else { return false }
        return !RemoteLock.held.withLock { $0.contains(token) }
      }
      return kill(pid, 0) != 0 && errno == ESRCH
    }
  }
}

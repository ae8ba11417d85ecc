import Foundation
import KeywardCore
import KeywardSources

#if canImport(Glibc)
  import Glibc
#endif

/// Fetching remote key sources for `lock` and `plan --refresh-sources`, and showing the result.
enum SourceFetch {
  struct Outcome: Sendable {
    var use: KeySourceUse
    var result: Result<[LockedKey], KeySourceError>
  }

  /// One use per URL; a source may serve no key only when every entry naming it allows that.
  static func unique(_ uses: [KeySourceUse]) -> [KeySourceUse] {
    var byURL: [String: KeySourceUse] = [:]
    for use in uses {
      if var first = byURL[use.source.url] {
        first.allowsEmpty = first.allowsEmpty && use.allowsEmpty
        byURL[use.source.url] = first
      } else {
        byURL[use.source.url] = use
      }
    }
    return byURL.values.sorted { $0.source < $1.source }
  }

  /// Fetches every source at once (a few at a time), in the order given.
  static func fetchAll(_ uses: [KeySourceUse], fetcher: KeyFetcher) async -> [Outcome] {
    await withTaskGroup(of: (Int, Outcome).self) { group in
      var results: [Outcome?] = Array(repeating: nil, count: uses.count)
      var next = 0
      func start(_ index: Int) {
        let use = uses[index]
        group.addTask {
          do throws(KeySourceError) {
            let keys = try await fetcher.fetch(use.source, allowEmpty: use.allowsEmpty)
            return (index, Outcome(use: use, result: .success(keys)))
          } catch {
            return (index, Outcome(use: use, result: .failure(error)))
          }
        }
      }
      while next < min(8, uses.count) {
        start(next)
        next += 1
      }
      while let (index, outcome) = await group.next() {
        results[index] = outcome
        if next < uses.count {
          start(next)
          next += 1
        }
      }
      return results.compactMap { $0 }
    }
  }

  /// `github: alice: 2 keys (+1 new, -1 gone)`.
  static func summary(_ change: SourceChange, count: Int) -> String {
    var line = "\(change.source): \(count) key\(count == 1 ? "" : "s")"
    if change.isNew {
      line += " (new in the lock)"
    } else if change.hasChanges {
      line += " (+\(change.added.count) new, -\(change.removed.count) gone)"
    }
    return line
  }

  /// The upstream section of a plan: what changed at each source since the lock was written.
  static func render(_ changes: [SourceChange], markdown: Bool) -> String {
    var out =
      markdown ? "\n### Upstream key sources\n\n" : "\nUpstream key sources (compared with keyward.lock):\n"
    let bullet = markdown ? "- " : "  "
    let sub = markdown ? "  - " : "      "
    for change in changes {
      if let error = change.error {
        out += "\(bullet)\(change.source): error: \(error)\n"
      } else if change.isNew {
        out +=
          "\(bullet)\(change.source): not in the lock yet (\(change.added.count) key\(change.added.count == 1 ? "" : "s") upstream)\n"
      } else if !change.hasChanges {
        out += "\(bullet)\(change.source): unchanged\n"
      } else {
        out +=
          "\(bullet)\(change.source): \(change.added.count) new, \(change.removed.count) vanished upstream\n"
      }
      for key in change.added { out += "\(sub)+ \(key.type) \(key.fingerprint) (new upstream)\n" }
      for key in change.removed { out += "\(sub)- \(key.type) \(key.fingerprint) (vanished upstream)\n" }
    }
    let pending = changes.contains { $0.hasChanges }
    out +=
      pending
      ? "\(markdown ? "\n" : "")Run 'keyward lock' to take these changes; this plan still uses the lock.\n"
      : changes.isEmpty ? "\(bullet)(the manifests name no remote key source)\n" : ""
    return out
  }

  /// Writes the lock atomically (temporary file, fsync, rename), readable by all (it is meant for git).
  static func writeLock(_ lock: LockFile, to path: String) throws {
    let bytes = lock.encoded()
    let directory = (path as NSString).deletingLastPathComponent
    let temporary =
      (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw LockWriteError(path: path, reason: String(cString: strerror(errno))) }
    var ok = true
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        ok = false
        break
      }
      offset += n
    }
    ok = ok && fsync(fd) == 0
    close(fd)
    guard ok, rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw LockWriteError(path: path, reason: reason)
    }
  }

  struct LockWriteError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "cannot write '\(path)': \(reason)" }
  }
}

extension SourceFetch {
  /// `plan --refresh-sources`: fetches every source, prints how each differs from the lock
  /// (text and Markdown on standard output after the plan; with JSON, on standard error).
  static func refresh(_ loaded: ManifestResult, format: OutputFormat) async throws -> (
    changed: Bool, failed: Bool
  ) {
    let lockPath = loaded.lockPath ?? LockFile.fileName
    let lock = (try? LockFile.read(lockPath)) ?? nil
    let uses = unique(loaded.keySources)
    let outcomes = await fetchAll(uses, fetcher: KeyFetcher())
    let changes = outcomes.map { outcome -> SourceChange in
      switch outcome.result {
      case .success(let keys):
        return SourceChange.compare(
          source: outcome.use.source, locked: lock?.entry(for: outcome.use.source), fetched: keys)
      case .failure(let error):
        return SourceChange(source: outcome.use.source, error: error.description)
      }
    }
    let text = render(changes, markdown: format == .markdown)
    if format == .json { Terminal.error(text) } else { Terminal.out(text) }
    return (changes.contains { $0.hasChanges }, changes.contains { $0.error != nil })
  }
}

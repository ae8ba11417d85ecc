import ArgumentParser
import Foundation
import KeywardCore
import KeywardSources

/// `keyward lock`: fetch every remote key source the manifests name and pin exactly what each
/// served in `keyward.lock`; all or nothing.
struct LockCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lock",
    abstract: "Fetch every remote key source (github:, gitlab:, url:) and pin its keys in keyward.lock.",
    discussion: """
      The lock is written beside the manifests, and only when every source was fetched and \
      checked: one failed source (HTTP error, timeout, TLS failure, a body cut short or not all \
      keys, no key unless 'allow_empty: true') leaves the lock as it was. Plans and applies read \
      keys from the lock only; review its diff like any other change.
      Exit codes: 0 locked, 1 a source failed or the manifests have errors.
      """)

  @Argument(help: ArgumentHelp("Manifest files or directories.", valueName: "PATH"))
  var paths: [String]

  @Option(help: ArgumentHelp("Seconds to wait for a source before failing.", valueName: "SECONDS"))
  var timeout: Double = 15

  func validate() throws {
    if !(timeout > 0 && timeout <= 600) {
      throw ValidationError("--timeout must be between 0 and 600 seconds")
    }
  }

  func run() async throws {
    let result = try ManifestInput.loadResult(paths, requiresLock: false)
    let lockPath = result.lockPath ?? LockFile.path(besideManifests: paths)
    let previous = try? LockFile.read(lockPath)
    let uses = SourceFetch.unique(result.keySources)
    let outcomes = await SourceFetch.fetchAll(uses, fetcher: KeyFetcher(timeout: timeout))
    var failed = 0
    for outcome in outcomes {
      if case .failure(let error) = outcome.result {
        Terminal.report(.error, "\(error)")
        failed += 1
      }
    }
    if failed > 0 {
      Terminal.error(
        "\(failed) of \(uses.count) source\(uses.count == 1 ? "" : "s") failed; \(lockPath) was not changed")
      throw ExitCode(1)
    }
    let now = Date()
    var entries: [LockFile.Entry] = []
    var lines: [String] = []
    for outcome in outcomes {
      guard case .success(let keys) = outcome.result else { continue }
      let source = outcome.use.source
      entries.append(LockFile.Entry(source: source.description, url: source.url, fetchedAt: now, keys: keys))
      let change = SourceChange.compare(source: source, locked: previous?.entry(for: source), fetched: keys)
      lines.append(SourceFetch.summary(change, count: keys.count))
    }
    let lock = LockFile(entries: entries)
    try SourceFetch.writeLock(lock, to: lockPath)
    for line in lines { Terminal.out(line + "\n") }
    let keyCount = entries.reduce(0) { $0 + $1.keys.count }
    Terminal.out(
      "Locked \(entries.count) source\(entries.count == 1 ? "" : "s") (\(keyCount) key\(keyCount == 1 ? "" : "s")) in \(lockPath)\n"
    )
  }
}

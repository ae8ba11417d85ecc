import Foundation
import KeywardTestSupport
import Testing

/// Runs every transcript in README.md and docs/ against real sshd hosts and compares what each
/// command prints with what the document shows (`DocTranscript`, `TranscriptMatcher`), so the
/// documents cannot drift from the code. Each document's `<!-- doc-test setup -->` builds its lab.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct DocTranscriptFleetTests {
  static let documents: [String] =
    ["README.md"]
    + ((try? FileManager.default.contentsOfDirectory(atPath: Fleet.packageRoot + "/docs")) ?? [])
    .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }

  @Test(arguments: documents)
  func transcriptsMatch(document: String) async throws {
    let outcome = try await Fleet.offPool {
      let lab = try Fleet.makeTemporaryDirectory()
      defer {
        _ = try? Fleet.run(Fleet.script, ["down", lab])
        try? FileManager.default.removeItem(atPath: lab)
      }
      return try DocTranscriptRunner(lab: lab).run(document: document)
    }
    print(
      "\(document): \(outcome.transcriptsRun) transcripts, \(outcome.commandsRun) commands run, "
        + "\(outcome.failures.count) mismatches, \(outcome.skipped.count) skipped")
    for skip in outcome.skipped { print("  skipped: \(skip)") }
    for failure in outcome.failures { Issue.record("\(failure)") }
  }
}

import Foundation

/// Runs a document's transcripts (`DocTranscript`) in a lab directory with the built `keyward`
/// first on the PATH, and compares each command's output with the document.
public struct DocTranscriptRunner {
  /// One command of a document that printed something else than the document shows.
  public struct Failure: CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var command: String
    public var reason: String
    public var output: String
    public var description: String {
      "\(file):\(line): $ \(command)\n  \(reason)\n  it printed:\n"
        + output.split(separator: "\n", omittingEmptySubsequences: false).map { "    | " + $0 }.joined(
          separator: "\n")
    }
  }

  /// What running one document found.
  public struct Outcome: Sendable {
    public var commandsRun = 0
    public var transcriptsRun = 0
    public var skipped: [String] = []
    public var failures: [Failure] = []
  }

  public var lab: String
  public var environment: [String: String]

  /// A runner for `lab` (which must exist): `$LAB` and `$REPO` are set, `HOME` is the lab (so
  /// keyward's `~/.ssh` is the lab's, never this machine's), `NO_COLOR` is set.
  public init(lab: String) {
    self.lab = lab
    var environment = ProcessInfo.processInfo.environment
    let bin = KeywardProcess.executable.deletingLastPathComponent().path
    environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment["LAB"] = lab
    environment["REPO"] = Fleet.packageRoot
    environment["HOME"] = lab
    environment["NO_COLOR"] = "1"
    environment["KEYWARD_KEY_FILE_ROOTS"] = lab
    self.environment = environment
  }

  /// Runs the document at `path` (relative to the package) and reports what did not match.
  public func run(document path: String) throws -> Outcome {
    let text = try String(contentsOfFile: Fleet.packageRoot + "/" + path, encoding: .utf8)
    let (setup, transcripts) = DocTranscript.parse(text, file: path)
    var outcome = Outcome()
    if let setup { try shell(setup, what: "\(path): doc-test setup") }
    for transcript in transcripts {
      if let reason = transcript.skipReason {
        outcome.skipped.append("\(path):\(transcript.line): \(reason)")
        continue
      }
      guard setup != nil else {
        outcome.failures.append(
          Failure(
            file: path, line: transcript.line, command: transcript.steps.first?.command ?? "",
            reason:
              "a transcript with no '<!-- doc-test setup' in its document and no '<!-- doc-test skip: REASON -->'",
            output: ""))
        continue
      }
      if let before = transcript.before {
        try shell(before, what: "\(path):\(transcript.line): doc-test before")
      }
      let outputs = try runSteps(transcript.steps)
      outcome.transcriptsRun += 1
      for (step, output) in zip(transcript.steps, outputs) {
        outcome.commandsRun += 1
        let actual = output.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: lab, with: "$LAB")
        var lines = actual.components(separatedBy: "\n")
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        if let reason = TranscriptMatcher.mismatch(expected: step.expected, actual: lines) {
          outcome.failures.append(
            Failure(file: path, line: step.line, command: step.command, reason: reason, output: actual))
        }
      }
    }
    return outcome
  }

  /// Runs the steps in one shell (so `echo $?` sees the previous command), standard error with
  /// standard output, and splits the output at markers printed between the commands.
  func runSteps(_ steps: [DocTranscript.Step]) throws -> [String] {
    let marker = "\u{1E}keyward-doc-step\u{1E}"
    var script = "cd \"$LAB\"\n"
    for step in steps {
      script += "printf '\\n%s\\n' '\(marker)'\n\(step.command)\n__status=$?\n(exit $__status)\n"
    }
    let output = try Fleet.run("/bin/bash", ["-c", script + "printf '\\n'\n"], environment: environment)
      .output
    var parts = output.components(separatedBy: "\n" + marker + "\n")
    parts.removeFirst()
    return parts
  }

  /// Runs shell with `set -e` in the lab; throws with its output when it fails.
  func shell(_ text: String, what: String) throws {
    let result = try Fleet.run("/bin/bash", ["-ec", "cd \"$LAB\"\n" + text], environment: environment)
    guard result.status == 0 else {
      throw FleetError(message: "\(what) failed (exit \(result.status)):\n\(result.output)")
    }
  }
}

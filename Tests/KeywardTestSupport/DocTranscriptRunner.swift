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
  ///
  /// The document's setup, each transcript's `before` and its commands run in one shell (so
  /// `echo $?` sees the previous command) in a private mount namespace with an empty `/var/lib`,
  /// so a document may show the paths a real deployment uses without touching this machine's.
  public func run(document path: String) throws -> Outcome {
    let text = try String(contentsOfFile: Fleet.packageRoot + "/" + path, encoding: .utf8)
    let (setup, transcripts) = DocTranscript.parse(text, file: path)
    var outcome = Outcome()
    var script = "cd \"$LAB\"\n__status=0\n"
    var run: [DocTranscript] = []
    func guarded(_ shell: String, _ what: String) -> String {
      "( set -e\n\(shell)\n) >\"$LAB/.doc-test-hook.log\" 2>&1 || { printf '\\n%s\\n' '\(Self.marker)'; "
        + "echo \(Self.quoted(what + " failed:")); cat \"$LAB/.doc-test-hook.log\"; exit 97; }\n"
    }
    if let setup { script += guarded(setup, "\(path): doc-test setup") }
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
        script += guarded(before, "\(path):\(transcript.line): doc-test before")
      }
      for step in transcript.steps {
        // The marker's printf would reset `$?`: the previous status is restored after it.
        script += "printf '\\n%s\\n' '\(Self.marker)'\n(exit $__status)\n\(step.command)\n__status=$?\n"
      }
      run.append(transcript)
    }
    guard !run.isEmpty else { return outcome }
    let result = try Fleet.run(
      "/usr/bin/unshare",
      [
        "--mount", "--propagation", "private", "/bin/bash", "-c",
        "mount -t tmpfs -o mode=0755 keyward-doc-test /var/lib && exec /bin/bash -c \"$1\"", "bash",
        script + "printf '\\n'\n",
      ], environment: environment)
    var parts = result.output.replacingOccurrences(of: "\r\n", with: "\n")
      .replacingOccurrences(of: lab, with: "$LAB")
      .components(separatedBy: "\n" + Self.marker + "\n")
    parts.removeFirst()
    if result.status == 97 { throw FleetError(message: parts.last ?? "a doc-test hook failed") }
    let steps = run.flatMap { transcript in transcript.steps.map { (transcript, $0) } }
    outcome.transcriptsRun = run.count
    if parts.count != steps.count {
      outcome.failures.append(
        Failure(
          file: path, line: run[0].line, command: "",
          reason:
            "\(steps.count) commands, but the shell printed \(parts.count) outputs (did one end the shell?)",
          output: parts.last ?? ""))
    }
    for ((_, step), actual) in zip(steps, parts) {
      outcome.commandsRun += 1
      var lines = actual.components(separatedBy: "\n")
      while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
      if let reason = TranscriptMatcher.mismatch(expected: step.expected, actual: lines) {
        outcome.failures.append(
          Failure(file: path, line: step.line, command: step.command, reason: reason, output: actual))
      }
    }
    return outcome
  }

  static let marker = "\u{1E}keyward-doc-step\u{1E}"

  /// Single-quoted for the shell.
  static func quoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}

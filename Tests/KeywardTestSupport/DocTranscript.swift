import Foundation

/// The shell transcripts of a Markdown document (README.md, docs/*.md), read so a test can run
/// them and compare what the commands print with what the document shows.
///
/// A transcript is a fenced block without a language (or `text`/`console`) whose lines start
/// with `$ ` for a command (a trailing `\` continues it) followed by its expected output. HTML
/// comments, invisible when the document is rendered, say how to run it:
///
/// - `<!-- doc-test setup ... -->` anywhere in the document: shell run once (with `set -e`) in a
///   fresh lab directory `$LAB` before the document's first transcript. `$REPO` is the package.
/// - `<!-- doc-test before ... -->` just above a transcript: shell run before that transcript.
/// - `<!-- doc-test skip: REASON -->` just above a transcript: not run, and the reason is shown.
///
/// Every transcript of a document runs, in order, in one lab; a transcript with neither a setup
/// in its document nor a skip is an error, so a new transcript cannot escape the test.
public struct DocTranscript: Sendable {
  /// One `$ command` and the lines the document shows after it.
  public struct Step: Sendable {
    public var line: Int
    public var command: String
    public var expected: [String]
  }

  public var file: String
  /// 1-based line of the opening fence.
  public var line: Int
  public var steps: [Step]
  /// Shell run just before this transcript (`doc-test before`).
  public var before: String?
  /// Why this transcript is not run (`doc-test skip:`), if it is not.
  public var skipReason: String?

  /// Every transcript in a Markdown text, and the document's `doc-test setup` shell if any.
  public static func parse(_ text: String, file: String) -> (setup: String?, transcripts: [DocTranscript]) {
    let lines = text.components(separatedBy: "\n")
    var setup: String?
    var transcripts: [DocTranscript] = []
    var pendingBefore: String?
    var pendingSkip: String?
    var index = 0
    while index < lines.count {
      let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix("<!-- doc-test") {
        var body: [String] = []
        var header = String(trimmed.dropFirst("<!-- doc-test".count))
        let closedOnFirstLine = header.hasSuffix("-->")
        if closedOnFirstLine { header = String(header.dropLast(3)) }
        header = header.trimmingCharacters(in: .whitespaces)
        if !closedOnFirstLine {
          index += 1
          while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != "-->" {
            body.append(lines[index])
            index += 1
          }
        }
        let shell = body.joined(separator: "\n")
        if header == "setup" {
          setup = (setup.map { $0 + "\n" } ?? "") + shell
        } else if header == "before" {
          pendingBefore = shell
        } else if header.hasPrefix("skip:") {
          pendingSkip = header.dropFirst("skip:".count).trimmingCharacters(in: .whitespaces)
        }
        index += 1
        continue
      }
      if let fence = Self.fence(trimmed) {
        let language = trimmed.dropFirst(fence.count).trimmingCharacters(in: .whitespaces)
        let start = index
        var content: [String] = []
        index += 1
        while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != fence {
          content.append(lines[index])
          index += 1
        }
        index += 1
        let isTranscript =
          ["", "text", "console"].contains(language) && content.contains { $0.hasPrefix("$ ") }
        if isTranscript {
          transcripts.append(
            DocTranscript(
              file: file, line: start + 1, steps: Self.steps(content, firstLine: start + 2),
              before: pendingBefore, skipReason: pendingSkip))
        }
        pendingBefore = nil
        pendingSkip = nil
        continue
      }
      if !trimmed.isEmpty {
        pendingBefore = nil
        pendingSkip = nil
      }
      index += 1
    }
    return (setup, transcripts)
  }

  /// The opening fence of a code block (three or more backticks), if the line is one.
  static func fence(_ line: String) -> String? {
    let ticks = line.prefix { $0 == "`" }
    return ticks.count >= 3 ? String(ticks) : nil
  }

  static func steps(_ content: [String], firstLine: Int) -> [Step] {
    var steps: [Step] = []
    var index = 0
    while index < content.count {
      guard content[index].hasPrefix("$ ") else {
        index += 1
        continue
      }
      let line = firstLine + index
      var command = String(content[index].dropFirst(2))
      while command.hasSuffix("\\"), index + 1 < content.count {
        index += 1
        command = String(command.dropLast()) + " " + content[index].trimmingCharacters(in: .whitespaces)
      }
      index += 1
      var expected: [String] = []
      while index < content.count, !content[index].hasPrefix("$ ") {
        expected.append(content[index])
        index += 1
      }
      while expected.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { expected.removeLast() }
      steps.append(Step(line: line, command: command, expected: expected))
    }
    return steps
  }
}

import Foundation

/// Compares what a command printed with what a document shows, ignoring only what changes from
/// run to run.
///
/// Both sides are normalised: key fingerprints (`SHA256:...`), digests (`sha256:<hex>`) and
/// base64 key material (`AAAA...`) become placeholders, trailing spaces go. In the expected
/// lines, a line that is only `…` or `...` stands for any number of lines (none included), and
/// `…` or `...` inside a line for any text.
public enum TranscriptMatcher {
  private static let rules: [(NSRegularExpression, String)] = [
    (#"SHA256:[A-Za-z0-9+/]{6,}=*"#, "SHA256:#"),
    (#"sha256:[0-9a-f]{16,}"#, "sha256:#"),
    (#"AAAA[A-Za-z0-9+/]{16,}=*"#, "AAAA#"),
  ].map { pattern, replacement in
    // The patterns are literals above; a typo in one is a programming error caught by every test.
    guard let regex = try? NSRegularExpression(pattern: pattern) else { fatalError("bad pattern \(pattern)") }
    return (regex, replacement)
  }

  /// A line with volatile parts replaced by placeholders.
  public static func normalise(_ line: String) -> String {
    var text = line
    while text.last == " " || text.last == "\t" || text.last == "\r" { text.removeLast() }
    for (regex, replacement) in rules {
      text = regex.stringByReplacingMatches(
        in: text, range: NSRange(text.startIndex..., in: text), withTemplate: replacement)
    }
    return text
  }

  /// Whether `actual` matches `expected`; nil when it does, otherwise a description of the
  /// first expected line that found no match.
  public static func mismatch(expected: [String], actual: [String]) -> String? {
    let patterns = expected.map(normalise)
    let lines = actual.map(normalise)
    var memo: [Int: Bool] = [:]
    var furthest = 0
    func matches(_ p: Int, _ l: Int) -> Bool {
      let key = p * (lines.count + 1) + l
      if let known = memo[key] { return known }
      furthest = max(furthest, p)
      let result: Bool
      if p == patterns.count {
        result = l == lines.count
      } else if isAnyLines(patterns[p]) {
        result = (l...lines.count).contains { matches(p + 1, $0) }
      } else {
        result = l < lines.count && lineMatches(patterns[p], lines[l]) && matches(p + 1, l + 1)
      }
      memo[key] = result
      return result
    }
    if matches(0, 0) { return nil }
    if furthest < patterns.count {
      return "no output line matches line \(furthest + 1) of the document: '\(expected[furthest])'"
    }
    return "the command printed more lines than the document shows"
  }

  static func isAnyLines(_ pattern: String) -> Bool {
    let trimmed = pattern.trimmingCharacters(in: .whitespaces)
    return trimmed == "…" || trimmed == "..."
  }

  /// A line against a pattern whose `…` and `...` match any text.
  static func lineMatches(_ pattern: String, _ line: String) -> Bool {
    let parts = pattern.replacingOccurrences(of: "...", with: "…").components(separatedBy: "…")
    guard parts.count > 1 else { return pattern == line }
    guard line.hasPrefix(parts[0]), line.hasSuffix(parts[parts.count - 1]) else { return false }
    var rest = Substring(line.dropFirst(parts[0].count))
    for part in parts.dropFirst().dropLast() where !part.isEmpty {
      guard let range = rest.range(of: part) else { return false }
      rest = rest[range.upperBound...]
    }
    return rest.count >= parts[parts.count - 1].count
  }
}

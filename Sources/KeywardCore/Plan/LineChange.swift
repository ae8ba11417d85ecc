import AuthorizedKeys

/// A line that is not a key (a comment, a blank line, a line sshd skips) added to or removed
/// from a file. keyward's own plans never make these; a plan file whose bytes do is shown them.
public struct LineChange: Hashable, Sendable, Codable {
  /// `add` or `remove` (a non-key line is never updated: it is removed and added).
  public var action: ChangeAction
  /// The 1-based line: in the old file for a removal, in the new file for an addition.
  public var line: Int
  public var kind: LineKind
  /// The line as printable text: control characters escaped, at most 120 characters.
  public var text: String

  public init(action: ChangeAction, line: Int, kind: LineKind, text: String) {
    self.action = action
    self.line = line
    self.kind = kind
    self.text = text
  }

  /// `bytes` as text safe to print: invalid UTF-8 and control characters escaped, cut at `limit`.
  public static func printable(_ bytes: [UInt8], limit: Int = 120) -> String {
    printable(String(decoding: bytes, as: UTF8.self), limit: limit)
  }

  /// `text` safe to print on a terminal: control characters (C0, DEL, C1) as `\u{..}`.
  public static func printable(_ text: String, limit: Int = 120) -> String {
    EscapedText.of(text, limit: limit) { scalar in
      let value = scalar.value
      return value < 0x20 || value == 0x7F || (0x80..<0xA0).contains(value) || value == 0xFFFD
        || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    }
  }
}

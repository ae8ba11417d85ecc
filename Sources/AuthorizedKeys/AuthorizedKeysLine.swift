/// One line of an authorized_keys file: its exact bytes and how sshd 9.2 reads them.
public struct AuthorizedKeysLine: Hashable, Sendable {
  /// The line's bytes without the `\n` terminator (a CR, NUL or invalid UTF-8 is kept).
  /// Rendering a file writes these bytes unchanged.
  public var raw: [UInt8]
  /// How sshd treats the line.
  public var kind: LineKind
  /// The key entry of a ``LineKind/key`` line.
  ///
  /// Setting a different entry replaces the line with the entry's canonical rendering.
  public var entry: KeyEntry? {
    didSet {
      guard let entry, entry != oldValue else { return }
      raw = Array(entry.rendered().utf8)
      kind = .key
      problem = nil
    }
  }
  /// Why an ``LineKind/invalid`` line is invalid.
  public var problem: LineProblem?

  /// A message for an ``LineKind/invalid`` line, saying what is wrong and what sshd does.
  public var error: String? { problem?.description }

  /// Classifies a line exactly as sshd 9.2 does (`auth_check_authkeys_file` and
  /// `auth_check_authkey_line` with a type-agnostic key).
  public init(raw: [UInt8]) {
    self = raw.withUnsafeBufferPointer { AuthorizedKeysLine(parsing: $0, raw: raw) }
  }

  /// Classifies a line given as text (without its newline).
  public init(text: some StringProtocol) {
    self.init(raw: Array(text.utf8))
  }

  /// A new key line in canonical form.
  public init(entry: KeyEntry) {
    self.raw = Array(entry.rendered().utf8)
    self.kind = .key
    self.entry = entry
    self.problem = nil
  }

  /// A comment line `# text` (a newline in `text` is written as a space).
  public init(comment text: String) {
    self.init(raw: Array(("# " + text.map { $0 == "\n" || $0 == "\r\n" ? " " : $0 }).utf8))
  }

  init(raw: [UInt8], kind: LineKind, entry: KeyEntry?, problem: LineProblem?) {
    self.raw = raw
    self.kind = kind
    self.entry = entry
    self.problem = problem
  }

  /// Parses `line` (the bytes of `raw`, or of a larger buffer) and keeps `raw`.
  init(parsing line: UnsafeBufferPointer<UInt8>, raw: [UInt8]) {
    let (kind, entry, problem) = LineClassifier.classify(line)
    self.init(raw: raw, kind: kind, entry: entry, problem: problem)
  }
}

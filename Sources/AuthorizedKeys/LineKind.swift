/// How sshd treats one line of an authorized_keys file.
public enum LineKind: String, Hashable, Sendable, Codable {
  /// A key sshd can use (possibly with options).
  case key
  /// A line whose first non-blank character is `#`.
  case comment
  /// An empty line, or only spaces and TABs.
  case blank
  /// A line sshd skips or rejects: no key found, a malformed key, or bad options.
  case invalid
}

/// A valid key line of an authorized_keys file: options, key and comment.
public struct KeyEntry: Hashable, Sendable {
  /// The options in file order, values unescaped; empty when the line has none.
  public var options: [KeyOption]
  /// The key.
  public var key: PublicKey
  /// The comment after the key, without one trailing `\r`; `nil` when empty.
  public var comment: String?

  public init(options: [KeyOption] = [], key: PublicKey, comment: String? = nil) {
    self.options = options
    self.key = key
    self.comment = comment
  }

  /// The canonical single line (no newline): `[OPTIONS ]TYPE BASE64[ COMMENT]`, options as
  /// ``KeyOptions/render(_:)`` writes them. A newline, carriage return or NUL in the comment
  /// is written as a space so the result is always one line sshd reads the same way.
  public func rendered() -> String {
    var line = ""
    if !options.isEmpty {
      line += KeyOptions.render(options)
      line += " "
    }
    line += key.type
    line += " "
    line += key.base64
    if let comment, !comment.isEmpty {
      line += " "
      for scalar in comment.unicodeScalars {
        switch scalar {
        case "\n", "\r", "\0": line += " "
        default: line.unicodeScalars.append(scalar)
        }
      }
    }
    return line
  }
}

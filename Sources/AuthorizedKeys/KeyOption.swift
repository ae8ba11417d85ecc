/// One option of an authorized_keys line, e.g. `no-pty` or `command="..."`.
public struct KeyOption: Hashable, Sendable, Codable {
  /// The option name, as written (matching is case-insensitive).
  public var name: String
  /// The unescaped value, or `nil` for a flag.
  public var value: String?

  public init(name: String, value: String? = nil) {
    self.name = name
    self.value = value
  }
}

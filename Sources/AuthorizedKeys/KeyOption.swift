/// One option of an authorized_keys line, e.g. `no-pty` or `command="..."`.
public struct KeyOption: Hashable, Sendable, Codable {
  /// The option name, as written (sshd matches names case-insensitively).
  public var name: String
  /// The unescaped value, or `nil` for a flag.
  public var value: String?

  public init(name: String, value: String? = nil) {
    self.name = name
    self.value = value
  }

  private enum CodingKeys: String, CodingKey {
    case name
    case value
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    name = try container.decode(String.self, forKey: .name)
    value = try container.decodeIfPresent(String.self, forKey: .value)
  }

  /// Encodes `{"name": …, "value": …}` with an explicit `null` value for flags.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(value, forKey: .value)
  }
}

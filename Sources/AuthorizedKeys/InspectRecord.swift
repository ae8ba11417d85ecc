/// One line of an authorized_keys file as `keyward inspect` reports it.
public struct InspectRecord: Hashable, Sendable, Codable {
  /// 1-based line number.
  public var line: Int
  public var kind: LineKind
  /// The key type as written on the line.
  public var type: String?
  public var bits: Int?
  /// `SHA256:…` as `ssh-keygen -l -E sha256` prints it.
  public var fingerprint: String?
  /// Options in file order, values unescaped, `null` for flags.
  public var options: [KeyOption]
  /// The key's comment, or the text of a `#` comment line.
  public var comment: String?
  /// Why the line is invalid.
  public var error: String?

  public init(
    line: Int, kind: LineKind, type: String? = nil, bits: Int? = nil, fingerprint: String? = nil,
    options: [KeyOption] = [], comment: String? = nil, error: String? = nil
  ) {
    self.line = line
    self.kind = kind
    self.type = type
    self.bits = bits
    self.fingerprint = fingerprint
    self.options = options
    self.comment = comment
    self.error = error
  }

  /// The record for a parsed line.
  public init(number: Int, line parsed: AuthorizedKeysLine) {
    self.init(line: number, kind: parsed.kind)
    switch parsed.kind {
    case .key:
      if let entry = parsed.entry {
        type = entry.key.type
        bits = entry.key.bits
        fingerprint = entry.key.fingerprint
        options = entry.options
        comment = entry.comment
      }
    case .comment:
      var raw = parsed.raw[...]
      if let nul = raw.firstIndex(of: 0) { raw = raw[..<nul] }
      if raw.last == 0x0D { raw = raw.dropLast() }
      comment = String(decoding: raw, as: UTF8.self)
    case .blank:
      break
    case .invalid:
      error = parsed.error
      if case .badOptions(_, let key?) = parsed.problem {
        type = key.type
        bits = key.bits
        fingerprint = key.fingerprint
      }
    }
  }

  /// One record per line of `file`.
  public static func records(for file: AuthorizedKeysFile) -> [InspectRecord] {
    file.lines.enumerated().map { InspectRecord(number: $0.offset + 1, line: $0.element) }
  }

  private enum CodingKeys: String, CodingKey {
    case line, kind, type, bits, fingerprint, options, comment, error
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    line = try container.decode(Int.self, forKey: .line)
    kind = try container.decode(LineKind.self, forKey: .kind)
    type = try container.decodeIfPresent(String.self, forKey: .type)
    bits = try container.decodeIfPresent(Int.self, forKey: .bits)
    fingerprint = try container.decodeIfPresent(String.self, forKey: .fingerprint)
    options = try container.decodeIfPresent([KeyOption].self, forKey: .options) ?? []
    comment = try container.decodeIfPresent(String.self, forKey: .comment)
    error = try container.decodeIfPresent(String.self, forKey: .error)
  }

  /// Encodes every field, with explicit `null`s.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(line, forKey: .line)
    try container.encode(kind, forKey: .kind)
    try container.encode(type, forKey: .type)
    try container.encode(bits, forKey: .bits)
    try container.encode(fingerprint, forKey: .fingerprint)
    try container.encode(options, forKey: .options)
    try container.encode(comment, forKey: .comment)
    try container.encode(error, forKey: .error)
  }
}

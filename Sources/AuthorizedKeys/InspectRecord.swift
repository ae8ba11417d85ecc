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
    self = parsed.raw.withUnsafeBufferPointer {
      InspectRecord(number: number, raw: $0, kind: parsed.kind, entry: parsed.entry, problem: parsed.problem)
    }
  }

  init(number: Int, raw: UnsafeBufferPointer<UInt8>, kind: LineKind, entry: KeyEntry?, problem: LineProblem?)
  {
    self.init(line: number, kind: kind)
    switch kind {
    case .key:
      if let entry {
        type = entry.key.type
        bits = entry.key.bits
        fingerprint = entry.key.fingerprint
        options = entry.options
        comment = entry.comment
      }
    case .comment:
      var end = raw.firstIndex(of: 0) ?? raw.count
      if end > 0, raw[end - 1] == 0x0D { end -= 1 }
      comment = String(decoding: UnsafeBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
    case .blank:
      break
    case .invalid:
      error = problem?.description
      if case .badOptions(_, let key?) = problem {
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

  /// One record per line of the file `bytes`, the same as `records(for: AuthorizedKeysFile(bytes:))`.
  public static func records(in bytes: [UInt8]) -> [InspectRecord] {
    var records: [InspectRecord] = []
    forEach(in: bytes) { records.append($0) }
    return records
  }

  /// Calls `body` with the record of each line of the file `bytes`, in order, without
  /// keeping the parsed lines: the streaming form of ``records(in:)`` for large files.
  public static func forEach(in bytes: [UInt8], _ body: (InspectRecord) -> Void) {
    AuthorizedKeysFile.forEachLine(in: bytes) { number, slice in
      let (kind, entry, problem) = LineClassifier.classify(slice)
      body(InspectRecord(number: number, raw: slice, kind: kind, entry: entry, problem: problem))
    }
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

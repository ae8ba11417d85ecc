/// A YAML node with its position: keyward's own tree over libyaml's events.
///
/// Scalars stay text: nothing is turned into a boolean, number or null here. The manifest
/// decoder decides types by field, and only in YAML 1.2 core spelling.
public struct YAMLNode: Sendable {
  /// How a scalar was written: plain scalars may be booleans, numbers or null where the
  /// schema expects one; quoted and block scalars (and `!!str`) are always text.
  public enum ScalarStyle: Sendable, Hashable {
    case plain
    case singleQuoted
    case doubleQuoted
    case literal
    case folded
  }

  /// One `key: value` pair of a mapping.
  public struct Pair: Sendable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
      self.key = key
      self.value = value
    }
  }

  public enum Kind: Sendable {
    /// Text, how it was written, and whether it was tagged `!!str`.
    case scalar(String, ScalarStyle, forcedString: Bool)
    case sequence([YAMLNode])
    /// Pairs in document order (after `<<` merges).
    case mapping([Pair])
  }

  public var kind: Kind
  /// 1-based line of the node's first character.
  public var line: Int
  /// 1-based column, counting Unicode scalars.
  public var column: Int
  /// Number of nodes in this subtree with aliases expanded (the alias-bomb budget).
  public var expandedSize: Int
  /// Bytes of scalar text in this subtree with aliases expanded (the alias byte budget).
  public var expandedBytes: Int

  public init(kind: Kind, line: Int, column: Int, expandedSize: Int = 1, expandedBytes: Int? = nil) {
    self.kind = kind
    self.line = line
    self.column = column
    self.expandedSize = expandedSize
    if let expandedBytes {
      self.expandedBytes = expandedBytes
    } else if case .scalar(let text, _, _) = kind {
      self.expandedBytes = text.utf8.count
    } else {
      self.expandedBytes = 0
    }
  }

  /// The scalar text, or `nil` for collections.
  public var scalar: String? {
    if case .scalar(let text, _, _) = kind { return text }
    return nil
  }

  /// Whether the scalar may be read as a boolean, number or null (plain, untagged).
  public var isPlainScalar: Bool {
    if case .scalar(_, .plain, false) = kind { return true }
    return false
  }

  /// A plain `null`, `Null`, `NULL`, `~` or empty scalar (YAML 1.2 core schema).
  public var isNull: Bool {
    guard isPlainScalar, let text = scalar else { return false }
    return ["", "~", "null", "Null", "NULL"].contains(text)
  }

  /// The items of a sequence, or `nil`.
  public var sequence: [YAMLNode]? {
    if case .sequence(let items) = kind { return items }
    return nil
  }

  /// The pairs of a mapping, or `nil`.
  public var mapping: [Pair]? {
    if case .mapping(let pairs) = kind { return pairs }
    return nil
  }

  /// What the node is, for messages: `a mapping`, `a list`, `text 'x'`, `null`.
  public var shapeDescription: String {
    switch kind {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .scalar(let text, _, _):
      if isNull { return "null" }
      let short = text.count > 40 ? String(text.prefix(37)) + "..." : text
      return "'\(short)'"
    }
  }
}

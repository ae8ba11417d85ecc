/// The fields of one YAML mapping, in order, as the decoder checked them.
struct ManifestFields {
  var pairs: [YAMLNode.Pair]

  /// The value of `name`, if present.
  subscript(_ name: String) -> YAMLNode? {
    pairs.first { $0.key.scalar == name }?.value
  }

  /// The key node of `name`, if present.
  func key(_ name: String) -> YAMLNode? {
    pairs.first { $0.key.scalar == name }?.key
  }
}

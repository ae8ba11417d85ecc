import Foundation

@testable import KeywardCore

/// Test-only: a YAML tree as JSON text, with the YAML 1.2 core schema's types (what the YAML
/// language server sees), so that manifests can be checked against the JSON Schema.
extension YAMLNode {
  var jsonText: String {
    switch kind {
    case .mapping(let pairs):
      return "{"
        + pairs.map { Self.quote($0.key.scalar ?? "") + ":" + $0.value.jsonText }.joined(separator: ",") + "}"
    case .sequence(let items):
      return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
    case .scalar(let text, _, _):
      guard isPlainScalar else { return Self.quote(text) }
      if isNull { return "null" }
      if ["true", "True", "TRUE", "false", "False", "FALSE"].contains(text) { return text.lowercased() }
      if text.wholeMatch(of: /[-+]?[0-9]+/) != nil, let number = Int(text) { return String(number) }
      return Self.quote(text)
    }
  }

  static func quote(_ text: String) -> String {
    let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
    return String(decoding: data, as: UTF8.self)
  }
}

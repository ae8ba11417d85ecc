import Foundation

/// The JSON keyward writes (plan files, JSON views, run records): sorted keys and snake_case
/// names, so the same value always gives the same bytes.
enum DeterministicJSON {
  /// Pretty-printed without escaped slashes, or compact (the form plan digests are taken of).
  static func encoder(pretty: Bool = true) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return encoder
  }

  /// The bytes of `value`, which is made of plain value types (strings, integers, booleans,
  /// arrays, no floats that could be non-finite): their encoding cannot fail, so a failure is
  /// a bug in keyward and stops it.
  static func encode(_ value: some Encodable, pretty: Bool = true) -> [UInt8] {
    do {
      return Array(try encoder(pretty: pretty).encode(value))
    } catch {
      preconditionFailure("encoding \(type(of: value)) as JSON failed: \(error)")
    }
  }
}

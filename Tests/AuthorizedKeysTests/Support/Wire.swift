import Foundation

/// Splitting and building RFC 4251 blobs for crafting test keys.
enum Wire {
  static func string(_ bytes: some Collection<UInt8>) -> [UInt8] {
    let count = UInt32(bytes.count)
    return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
      + Array(bytes)
  }

  static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }

  /// The top-level length-prefixed fields of a plain key blob.
  static func fields(_ blob: [UInt8]) -> [[UInt8]] {
    var fields: [[UInt8]] = []
    var index = 0
    while index + 4 <= blob.count {
      let length =
        Int(blob[index]) << 24 | Int(blob[index + 1]) << 16 | Int(blob[index + 2]) << 8 | Int(blob[index + 3])
      guard index + 4 + length <= blob.count else { break }
      fields.append(Array(blob[(index + 4)..<(index + 4 + length)]))
      index += 4 + length
    }
    return fields
  }

  static func join(_ fields: [[UInt8]]) -> [UInt8] { fields.flatMap { string($0) } }

  static func decode(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64) ?? Data()) }

  static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

/// `sshkey_read()` on a line held as bytes: reads `type blob` at an index and leaves the
/// index at the start of the comment.
enum KeyReader {
  @inline(__always)
  static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

  /// Reads a key starting at `index` (no leading blanks expected); on success `index` is
  /// moved past the blob and the blanks after it.
  static func read(_ line: UnsafeBufferPointer<UInt8>, from index: inout Int) throws(KeyError) -> PublicKey {
    let end = line.count
    let typeStart = index
    var cursor = typeStart
    while cursor < end, !isBlank(line[cursor]) { cursor += 1 }
    let typeToken = UnsafeBufferPointer(rebasing: line[typeStart..<cursor])
    guard cursor < end else {
      if typeToken.isEmpty { throw .missingType }
      if KeyAlgorithm(typeBytes: typeToken) != nil {
        throw .missingBlob(type: String(decoding: typeToken, as: UTF8.self))
      }
      throw .unknownKeyType(String(decoding: typeToken, as: UTF8.self))
    }
    guard KeyAlgorithm(typeBytes: typeToken) != nil else {
      throw typeToken.isEmpty ? .missingType : .unknownKeyType(String(decoding: typeToken, as: UTF8.self))
    }
    while cursor < end, isBlank(line[cursor]) { cursor += 1 }
    guard cursor < end else { throw .missingBlob(type: String(decoding: typeToken, as: UTF8.self)) }
    let blobStart = cursor
    while cursor < end, !isBlank(line[cursor]) { cursor += 1 }
    let blobToken = UnsafeBufferPointer(rebasing: line[blobStart..<cursor])
    let key = try PublicKey(typeToken: typeToken, base64Token: blobToken)
    while cursor < end, isBlank(line[cursor]) { cursor += 1 }
    index = cursor
    return key
  }

  /// `sshkey_advance_past_options()`: the end of a quote-aware options field, or `nil` for
  /// an unterminated quote.
  static func advancePastOptions(_ line: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    var cursor = start
    var quoted = false
    let end = line.count
    while cursor < end, quoted || !isBlank(line[cursor]) {
      if line[cursor] == UInt8(ascii: "\\"), cursor + 1 < end, line[cursor + 1] == UInt8(ascii: "\"") {
        cursor += 1
      } else if line[cursor] == UInt8(ascii: "\"") {
        quoted.toggle()
      }
      cursor += 1
    }
    return cursor >= end && quoted ? nil : cursor
  }
}

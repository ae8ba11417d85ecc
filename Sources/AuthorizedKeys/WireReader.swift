/// Reads RFC 4251 wire-format fields (uint32, uint64, string, mpint) from a key blob,
/// with the same limits as OpenSSH's `sshbuf` getters.
struct WireReader {
  let bytes: [UInt8]
  private(set) var offset: Int
  let end: Int

  init(_ bytes: [UInt8], range: Range<Int>? = nil) {
    self.bytes = bytes
    self.offset = range?.lowerBound ?? 0
    self.end = range?.upperBound ?? bytes.count
  }

  var remaining: Int { end - offset }
  var isAtEnd: Bool { offset >= end }

  mutating func readUInt32(_ field: String) throws(KeyError) -> UInt32 {
    guard remaining >= 4 else { throw .truncatedBlob(field: field) }
    var value: UInt32 = 0
    for index in offset..<offset + 4 { value = value << 8 | UInt32(bytes[index]) }
    offset += 4
    return value
  }

  mutating func readUInt64(_ field: String) throws(KeyError) -> UInt64 {
    guard remaining >= 8 else { throw .truncatedBlob(field: field) }
    var value: UInt64 = 0
    for index in offset..<offset + 8 { value = value << 8 | UInt64(bytes[index]) }
    offset += 8
    return value
  }

  mutating func readUInt8(_ field: String) throws(KeyError) -> UInt8 {
    guard remaining >= 1 else { throw .truncatedBlob(field: field) }
    offset += 1
    return bytes[offset - 1]
  }

  /// A length-prefixed string; returns the range of its contents in ``bytes``.
  mutating func readString(_ field: String) throws(KeyError) -> Range<Int> {
    let length = Int(try readUInt32(field))
    guard length <= remaining else { throw .truncatedBlob(field: field) }
    let range = offset..<offset + length
    offset += length
    return range
  }

  /// A string that is a C string for OpenSSH (`sshbuf_get_cstring`): a NUL is allowed only
  /// as its last byte, and ends it.
  mutating func readCString(_ field: String) throws(KeyError) -> ArraySlice<UInt8> {
    let range = try readString(field)
    var slice = bytes[range]
    if let nul = slice.firstIndex(of: 0) {
      guard nul == range.upperBound - 1 else {
        throw .malformedField(field: field)
      }
      slice = bytes[range.lowerBound..<nul]
    }
    return slice
  }

  /// An mpint as `sshbuf_get_bignum2_bytes_direct` reads it: no sign bit, at most 2048
  /// bytes plus one leading zero, redundant leading zeros stripped.
  mutating func readMPInt(_ field: String) throws(KeyError) -> ArraySlice<UInt8> {
    let range = try readString(field)
    let length = range.count
    if length > 0, bytes[range.lowerBound] & 0x80 != 0 { throw .negativeInteger(field: field) }
    if length > 2049 || (length == 2049 && bytes[range.lowerBound] != 0) {
      throw .integerTooLarge(field: field)
    }
    var start = range.lowerBound
    while start < range.upperBound, bytes[start] == 0 { start += 1 }
    return bytes[start..<range.upperBound]
  }
}

/// Writes RFC 4251 wire-format fields, for re-encoding canonical plain keys.
struct WireWriter {
  var bytes: [UInt8] = []

  mutating func writeUInt32(_ value: UInt32) {
    bytes.append(UInt8(truncatingIfNeeded: value >> 24))
    bytes.append(UInt8(truncatingIfNeeded: value >> 16))
    bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    bytes.append(UInt8(truncatingIfNeeded: value))
  }

  mutating func writeString(_ value: some Collection<UInt8>) {
    writeUInt32(UInt32(value.count))
    bytes.append(contentsOf: value)
  }

  mutating func writeString(_ value: String) {
    writeUInt32(UInt32(value.utf8.count))
    bytes.append(contentsOf: value.utf8)
  }

  /// Writes a non-negative integer given without leading zeros, adding a sign byte if needed.
  mutating func writeMPInt(_ magnitude: ArraySlice<UInt8>) {
    if let first = magnitude.first, first & 0x80 != 0 {
      writeUInt32(UInt32(magnitude.count + 1))
      bytes.append(0)
      bytes.append(contentsOf: magnitude)
    } else {
      writeString(magnitude)
    }
  }
}

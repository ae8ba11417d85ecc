/// Appends SFTP wire values (big-endian integers, length-prefixed strings) to a buffer.
struct SFTPWireWriter {
  private(set) var bytes: [UInt8] = []

  init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

  mutating func byte(_ value: UInt8) { bytes.append(value) }

  mutating func uint32(_ value: UInt32) {
    bytes.append(UInt8(truncatingIfNeeded: value >> 24))
    bytes.append(UInt8(truncatingIfNeeded: value >> 16))
    bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    bytes.append(UInt8(truncatingIfNeeded: value))
  }

  mutating func uint64(_ value: UInt64) {
    uint32(UInt32(truncatingIfNeeded: value >> 32))
    uint32(UInt32(truncatingIfNeeded: value))
  }

  mutating func string(_ value: [UInt8]) {
    uint32(UInt32(truncatingIfNeeded: value.count))
    bytes.append(contentsOf: value)
  }

  mutating func string(_ value: String) { string(Array(value.utf8)) }
}

/// Reads SFTP wire values from a packet body; every read is bounds-checked and throws on
/// truncation, so no input can trap or make it allocate more than the packet holds.
struct SFTPWireReader {
  private let bytes: [UInt8]
  private(set) var position: Int

  init(_ bytes: [UInt8], position: Int = 0) {
    self.bytes = bytes
    self.position = position
  }

  var remaining: Int { bytes.count - position }

  mutating func byte() throws(SFTPError) -> UInt8 {
    guard remaining >= 1 else { throw .malformed("the packet ends inside a byte field") }
    defer { position += 1 }
    return bytes[position]
  }

  mutating func uint32() throws(SFTPError) -> UInt32 {
    guard remaining >= 4 else { throw .malformed("the packet ends inside a 32-bit field") }
    var value: UInt32 = 0
    for index in position..<(position + 4) { value = value << 8 | UInt32(bytes[index]) }
    position += 4
    return value
  }

  mutating func uint64() throws(SFTPError) -> UInt64 {
    let high = try uint32()
    let low = try uint32()
    return UInt64(high) << 32 | UInt64(low)
  }

  mutating func string() throws(SFTPError) -> [UInt8] {
    let length = try uint32()
    guard UInt64(length) <= UInt64(remaining) else {
      throw .malformed("a string of \(length) bytes does not fit in the \(remaining) bytes left")
    }
    let count = Int(length)
    defer { position += count }
    return Array(bytes[position..<(position + count)])
  }

  /// A string decoded as UTF-8 (invalid sequences become U+FFFD; nothing is trusted further).
  mutating func text() throws(SFTPError) -> String {
    String(decoding: try string(), as: UTF8.self)
  }
}

extension [UInt8] {
  mutating func appendUInt32(_ value: UInt32) {
    append(contentsOf: [
      UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff),
    ])
  }

  mutating func appendString(_ bytes: [UInt8]) {
    appendUInt32(UInt32(bytes.count))
    append(contentsOf: bytes)
  }
}

/// Reads SSH wire-format fields (byte, uint32, string) from a buffer.
struct WireReader {
  private let bytes: [UInt8]
  private var offset = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func byte() -> UInt8? {
    guard offset < bytes.count else { return nil }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func uint32() -> UInt32? {
    guard offset + 4 <= bytes.count else { return nil }
    defer { offset += 4 }
    return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
  }

  mutating func string() -> [UInt8]? {
    guard let length = uint32(), offset + Int(length) <= bytes.count else { return nil }
    defer { offset += Int(length) }
    return Array(bytes[offset..<offset + Int(length)])
  }
}

/// Strict base64 as OpenSSH decodes key blobs (`b64_pton`, ISC implementation), and the
/// standard encoder.
///
/// Foundation's decoder is lenient (it accepts non-zero unused bits, for example), so the
/// codec uses this one: standard alphabet only, C `isspace` skipped anywhere, mandatory
/// padding, nothing but whitespace after the padding, and zero unused low bits.
enum Base64 {
  static let alphabet: [UInt8] = Array(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  /// 0...63 for alphabet characters, 0xFE for C-locale whitespace, 0xFD for `=`, 0xFF otherwise.
  static let decodeTable: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
    for space: UInt8 in [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D] { table[Int(space)] = 0xFE }
    table[Int(UInt8(ascii: "="))] = 0xFD
    return table
  }()

  /// Decodes `text` exactly as `b64_pton` does, or throws ``KeyError/invalidBase64(reason:)``.
  static func decodeStrict(_ text: UnsafeBufferPointer<UInt8>) throws(KeyError) -> [UInt8] {
    var output = [UInt8]()
    output.reserveCapacity(text.count * 3 / 4)
    var state = 0
    var accumulator: UInt32 = 0
    var index = 0
    var sawPad = false
    try decodeTable.withUnsafeBufferPointer { (table) throws(KeyError) in
      while index < text.count {
        let character = text[index]
        let value = table[Int(character)]
        index += 1
        if value == 0xFE { continue }
        if value == 0xFD {
          sawPad = true
          break
        }
        if value == 0xFF {
          throw .invalidBase64(reason: invalidCharacterReason(character))
        }
        accumulator = (accumulator << 6) | UInt32(value)
        state += 1
        if state == 4 {
          output.append(UInt8(truncatingIfNeeded: accumulator >> 16))
          output.append(UInt8(truncatingIfNeeded: accumulator >> 8))
          output.append(UInt8(truncatingIfNeeded: accumulator))
          accumulator = 0
          state = 0
        }
      }
      guard sawPad else {
        if state != 0 {
          throw .invalidBase64(reason: "missing '=' padding at the end")
        }
        return
      }
      switch state {
      case 0, 1:
        throw .invalidBase64(reason: "'=' where a data character is required")
      case 2:
        while index < text.count, table[Int(text[index])] == 0xFE { index += 1 }
        guard index < text.count, text[index] == UInt8(ascii: "=") else {
          throw .invalidBase64(reason: "single '=' where '==' padding is required")
        }
        index += 1
        // 12 bits read, 8 used: the low 4 must be zero.
        guard accumulator & 0x0F == 0 else {
          throw .invalidBase64(reason: "non-zero unused bits before the padding")
        }
        output.append(UInt8(truncatingIfNeeded: accumulator >> 4))
      default:  // 3
        // 18 bits read, 16 used: the low 2 must be zero.
        guard accumulator & 0x03 == 0 else {
          throw .invalidBase64(reason: "non-zero unused bits before the padding")
        }
        output.append(UInt8(truncatingIfNeeded: accumulator >> 10))
        output.append(UInt8(truncatingIfNeeded: accumulator >> 2))
      }
      while index < text.count {
        guard table[Int(text[index])] == 0xFE else {
          throw .invalidBase64(reason: "characters after the '=' padding")
        }
        index += 1
      }
    }
    return output
  }

  private static func invalidCharacterReason(_ character: UInt8) -> String {
    switch character {
    case UInt8(ascii: "-"), UInt8(ascii: "_"):
      return
        "base64url character '\(Character(UnicodeScalar(character)))' (only the standard alphabet with '+' and '/' is allowed)"
    case 0x20...0x7E:
      return "invalid character '\(Character(UnicodeScalar(character)))'"
    case 0xC2:
      return "non-ASCII byte 0xC2 (a non-breaking space? only space and TAB separate fields)"
    default:
      let hex = String(character, radix: 16, uppercase: true)
      return "invalid byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
  }

  /// Standard base64 of `bytes`, with `=` padding unless `padding` is false.
  static func encode(_ bytes: some Collection<UInt8>, padding: Bool = true) -> String {
    var output = [UInt8]()
    output.reserveCapacity((bytes.count + 2) / 3 * 4)
    var iterator = bytes.makeIterator()
    alphabet.withUnsafeBufferPointer { table in
      while let first = iterator.next() {
        let second = iterator.next()
        let third = iterator.next()
        let chunk = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
        output.append(table[Int(chunk >> 18 & 0x3F)])
        output.append(table[Int(chunk >> 12 & 0x3F)])
        if second != nil {
          output.append(table[Int(chunk >> 6 & 0x3F)])
        } else if padding {
          output.append(UInt8(ascii: "="))
        }
        if third != nil {
          output.append(table[Int(chunk & 0x3F)])
        } else if padding {
          output.append(UInt8(ascii: "="))
        }
        if third == nil { break }
      }
    }
    return String(decoding: output, as: UTF8.self)
  }
}

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
    var failure: KeyError?
    let output = [UInt8](unsafeUninitializedCapacity: text.count * 3 / 4 + 3) { buffer, count in
      decodeTable.withUnsafeBufferPointer { table in
        switch decode(text, table: table, into: buffer) {
        case .success(let written): count = written
        case .failure(let error):
          count = 0
          failure = error
        }
      }
    }
    if let failure { throw failure }
    return output
  }

  private static func decode(
    _ text: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt8>,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) -> Result<Int, KeyError> {
    var written = 0
    var state = 0
    var accumulator: UInt32 = 0
    var index = 0
    var sawPad = false
    let count = text.count
    while index < count {
      let character = text[index]
      let value = table[Int(character)]
      index += 1
      if value < 64 {
        accumulator = (accumulator << 6) | UInt32(value)
        state += 1
        if state == 4 {
          output[written] = UInt8(truncatingIfNeeded: accumulator >> 16)
          output[written + 1] = UInt8(truncatingIfNeeded: accumulator >> 8)
          output[written + 2] = UInt8(truncatingIfNeeded: accumulator)
          written += 3
          accumulator = 0
          state = 0
        }
        continue
      }
      if value == 0xFE { continue }
      if value == 0xFD {
        sawPad = true
        break
      }
      return .failure(.invalidBase64(reason: invalidCharacterReason(character)))
    }
    guard sawPad else {
      if state != 0 { return .failure(.invalidBase64(reason: "missing '=' padding at the end")) }
      return .success(written)
    }
    switch state {
    case 0, 1:
      return .failure(.invalidBase64(reason: "'=' where a data character is required"))
    case 2:
      while index < count, table[Int(text[index])] == 0xFE { index += 1 }
      guard index < count, text[index] == UInt8(ascii: "=") else {
        return .failure(.invalidBase64(reason: "single '=' where '==' padding is required"))
      }
      index += 1
      // 12 bits read, 8 used: the low 4 must be zero.
      guard accumulator & 0x0F == 0 else {
        return .failure(.invalidBase64(reason: "non-zero unused bits before the padding"))
      }
      output[written] = UInt8(truncatingIfNeeded: accumulator >> 4)
      written += 1
    default:  // 3
      // 18 bits read, 16 used: the low 2 must be zero.
      guard accumulator & 0x03 == 0 else {
        return .failure(.invalidBase64(reason: "non-zero unused bits before the padding"))
      }
      output[written] = UInt8(truncatingIfNeeded: accumulator >> 10)
      output[written + 1] = UInt8(truncatingIfNeeded: accumulator >> 2)
      written += 2
    }
    while index < count {
      guard table[Int(text[index])] == 0xFE else {
        return .failure(.invalidBase64(reason: "characters after the '=' padding"))
      }
      index += 1
    }
    return .success(written)
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
  static func encode(_ bytes: [UInt8], padding: Bool = true) -> String {
    bytes.withUnsafeBytes { encode($0, padding: padding) }
  }

  /// Standard base64 of `bytes`, with `=` padding unless `padding` is false.
  static func encode(_ bytes: UnsafeRawBufferPointer, padding: Bool = true) -> String {
    let count = bytes.count
    let full = count / 3
    let rest = count % 3
    let length = full * 4 + (rest == 0 ? 0 : padding ? 4 : rest + 1)
    return String(unsafeUninitializedCapacity: length) { output in
      alphabet.withUnsafeBufferPointer { table in
        var o = 0
        var i = 0
        for _ in 0..<full {
          let chunk = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
          output[o] = table[Int(chunk >> 18 & 0x3F)]
          output[o + 1] = table[Int(chunk >> 12 & 0x3F)]
          output[o + 2] = table[Int(chunk >> 6 & 0x3F)]
          output[o + 3] = table[Int(chunk & 0x3F)]
          i += 3
          o += 4
        }
        if rest > 0 {
          let chunk = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
          output[o] = table[Int(chunk >> 18 & 0x3F)]
          output[o + 1] = table[Int(chunk >> 12 & 0x3F)]
          o += 2
          if rest == 2 {
            output[o] = table[Int(chunk >> 6 & 0x3F)]
            o += 1
          } else if padding {
            output[o] = UInt8(ascii: "=")
            o += 1
          }
          if padding {
            output[o] = UInt8(ascii: "=")
            o += 1
          }
        }
        return o
      }
    }
  }
}

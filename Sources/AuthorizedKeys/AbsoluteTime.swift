#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `parse_absolute_time()` from OpenSSH's misc.c, for `expiry-time` values: the digits
/// are split positionally and read with the C library's `strptime` (emulated: Swift's Glibc does not export it), then converted with
/// `timegm` (suffix `Z`/`UTC`, any case) or `mktime` (server local time, as sshd does).
enum AbsoluteTime {
  /// Seconds since the epoch, or `nil` where sshd says "invalid expires time"
  /// (a result of 0 is returned as 0; the caller rejects it as sshd does).
  static func parse(_ value: [UInt8]) -> Int64? {
    var length = value.count
    var utc = false
    func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
    if length > 1, lower(value[length - 1]) == UInt8(ascii: "z") {
      utc = true
      length -= 1
    } else if length > 3, value[(length - 3)...].map(lower).elementsEqual("utc".utf8) {
      utc = true
      length -= 3
    }
    let widths: [Int]
    switch length {
    case 8:
      widths = [4, 2, 2]
    case 12:
      widths = [4, 2, 2, 2, 2]
    case 14:
      widths = [4, 2, 2, 2, 2, 2]
    default:
      return nil
    }
    // snprintf("%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", …) then glibc strptime() of that text.
    var text: [UInt8] = []
    var position = 0
    let separators: [UInt8] = Array("--T::".utf8)
    for (index, width) in widths.enumerated() {
      if index > 0 { text.append(separators[index - 1]) }
      text.append(contentsOf: value[position..<(position + width)])
      position += width
    }
    // (min, max, digits) of glibc's get_number for %Y %m %d %H %M %S.
    let limits: [(Int, Int, Int)] = [
      (0, 9999, 4), (1, 12, 2), (1, 31, 2), (0, 23, 2), (0, 59, 2), (0, 61, 2),
    ]
    var fields: [Int] = []
    var cursor = 0
    for index in widths.indices {
      if index > 0 {
        guard cursor < text.count, text[cursor] == separators[index - 1] else { return nil }
        cursor += 1
      }
      guard let number = getNumber(text, &cursor, limits[index]) else { return nil }
      fields.append(number)
    }
    guard cursor == text.count else { return nil }
    while fields.count < 6 { fields.append(0) }
    var time = tm()
    time.tm_year = Int32(fields[0] - 1900)
    time.tm_mon = Int32(fields[1] - 1)
    time.tm_mday = Int32(fields[2])
    time.tm_hour = Int32(fields[3])
    time.tm_min = Int32(fields[4])
    time.tm_sec = Int32(fields[5])
    let seconds = utc ? timegm(&time) : mktime(&time)
    guard seconds >= 0 else { return nil }
    return Int64(seconds)
  }

  /// glibc strptime's `get_number(from, to, n)`: skip C-locale whitespace, then read up to
  /// `n` digits while the value times ten stays within `to`.
  private static func getNumber(_ text: [UInt8], _ cursor: inout Int, _ limit: (Int, Int, Int)) -> Int? {
    let (from, to, digits) = limit
    while cursor < text.count, [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(text[cursor]) { cursor += 1 }
    guard cursor < text.count, text[cursor] >= 0x30, text[cursor] <= 0x39 else { return nil }
    var value = 0
    var remaining = digits
    repeat {
      value = value * 10 + Int(text[cursor] - 0x30)
      cursor += 1
      remaining -= 1
    } while remaining > 0 && value * 10 <= to && cursor < text.count && text[cursor] >= 0x30
      && text[cursor] <= 0x39
    guard value >= from, value <= to else { return nil }
    return value
  }
}

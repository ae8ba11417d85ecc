/// Makes untrusted text safe to show in a message, a plan or a terminal: control characters
/// escaped, length capped. The one sanitiser every echo of a user, manifest or host value goes
/// through (diagnostics, plan renderers, codec errors).
///
/// - C0 controls, DEL and C1 controls become `\n`, `\r`, `\t` or `\xHH`, so no value can start a
///   new line (a forged `file:line: error:`) or an escape sequence (`ESC [31m`).
/// - Bidirectional and invisible formatting marks (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069,
///   U+FEFF) become `\u{HHHH}`, so text cannot be reordered on screen.
/// - Text longer than the limit keeps its start and says how much was left out.
///
/// Output is bounded by the limits, whatever the input: a 100 MB value shows as ~120 characters.
public enum Echo {
  /// The longest value shown, in Unicode scalars.
  public static let valueLimit = 120
  /// The longest message shown, in Unicode scalars.
  public static let messageLimit = 1_000

  /// One value: escaped, and cut after `limit` scalars (`…(N more bytes)`).
  public static func value(_ text: some StringProtocol, limit: Int = valueLimit) -> String {
    var out = ""
    var shown = 0
    var index = text.unicodeScalars.startIndex
    let scalars = text.unicodeScalars
    while index < scalars.endIndex {
      if shown >= limit {
        let rest = text.utf8.distance(from: index, to: text.utf8.endIndex)
        out += "…(\(rest) more bytes)"
        return out
      }
      append(scalars[index], to: &out)
      shown += 1
      index = scalars.index(after: index)
    }
    return out
  }

  /// A whole message built from fixed text and quoted values (`key 'x' is not defined`): escaped,
  /// each quoted stretch cut to `valueLimit` scalars (the fixed text between them is kept), the
  /// whole cut to `messageLimit`. For messages whose values were interpolated without `value(_:)`.
  public static func message(_ text: some StringProtocol) -> String {
    // Fast path: short and clean messages (nearly all) are returned as they are.
    var clean = true
    var stretch = 0
    var count = 0
    var quoted = false
    for scalar in text.unicodeScalars {
      count += 1
      if scalar == "'" {
        quoted.toggle()
        stretch = 0
      } else if quoted {
        stretch += 1
      }
      if count > messageLimit || stretch > valueLimit || needsEscape(scalar) {
        clean = false
        break
      }
    }
    if clean { return String(text) }
    var out = ""
    var shown = 0
    var run = 0
    var skipped = 0
    quoted = false
    for scalar in text.unicodeScalars {
      if shown >= messageLimit {
        skipped += scalar.utf8.count
        continue
      }
      if scalar == "'" {
        if skipped > 0 { out += "…(\(skipped) more bytes)" }
        skipped = 0
        run = 0
        quoted.toggle()
        out += "'"
        shown += 1
        continue
      }
      // Only quoted stretches are values; keyward's own words between them are never cut.
      if quoted && run >= valueLimit {
        skipped += scalar.utf8.count
        continue
      }
      run += 1
      shown += 1
      append(scalar, to: &out)
    }
    if skipped > 0 { out += "…(\(skipped) more bytes)" }
    return out
  }

  /// Whether a scalar is shown escaped.
  public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F: return true
    case 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return true
    default: return false
    }
  }

  private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
    guard needsEscape(scalar) else {
      out.unicodeScalars.append(scalar)
      return
    }
    switch scalar {
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    default:
      if scalar.value <= 0xFF {
        out += "\\x" + hex(scalar.value, width: 2)
      } else {
        out += "\\u{" + hex(scalar.value, width: 4) + "}"
      }
    }
  }

  private static func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }
}

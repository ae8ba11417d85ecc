/// Text made safe to print: each scalar `escaping` picks becomes a `\u{..}` escape, and text
/// longer than `limit` scalars is cut with `...`. The one loop behind `DisplayText` and
/// `LineChange.printable`, which differ only in what they escape.
enum EscapedText {
  static func of(_ text: some StringProtocol, limit: Int, escaping: (Unicode.Scalar) -> Bool) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
      if count >= limit {
        out += "..."
        break
      }
      count += 1
      if escaping(scalar) {
        out += "\\u{" + String(scalar.value, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}

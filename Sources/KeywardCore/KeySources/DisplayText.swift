/// Text from outside (a URL, an HTTP body, a user name) made safe to print: control characters,
/// escape sequences and non-ASCII format characters become `\u{..}` escapes, and long text is cut.
struct DisplayText: CustomStringConvertible, Sendable {
  static let limit = 120
  let text: String

  init(_ text: some StringProtocol, limit: Int = DisplayText.limit) {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
      if count >= limit {
        out += "..."
        break
      }
      count += 1
      let v = scalar.value
      if v < 0x20 || v == 0x7F || (0x80..<0xA0).contains(v) || scalar.properties.generalCategory == .format
        || scalar.properties.generalCategory == .lineSeparator
        || scalar.properties.generalCategory == .paragraphSeparator
      {
        out += "\\u{" + String(v, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    self.text = out
  }

  var description: String { text }
}

/// Text from outside (a URL, an HTTP body, a user name) made safe to print: control characters,
/// escape sequences and non-ASCII format characters become `\u{..}` escapes, and long text is cut.
struct DisplayText: CustomStringConvertible, Sendable {
  static let limit = 120
  let text: String

  init(_ text: some StringProtocol, limit: Int = DisplayText.limit) {
    self.text = EscapedText.of(text, limit: limit) { scalar in
      let v = scalar.value
      return v < 0x20 || v == 0x7F || (0x80..<0xA0).contains(v)
        || scalar.properties.generalCategory == .format
        || scalar.properties.generalCategory == .lineSeparator
        || scalar.properties.generalCategory == .paragraphSeparator
    }
  }

  var description: String { text }
}

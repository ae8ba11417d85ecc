import AuthorizedKeys
import Testing

@Suite("Echo")
struct EchoTests {
  static let values: [(name: String, input: String, shown: String)] = [
    ("plain text is unchanged", "alice@laptop", "alice@laptop"),
    ("newline, return and tab", "a\nb\rc\td", "a\\nb\\rc\\td"),
    ("ESC and BEL", "\u{1B}[31mred\u{07}", "\\x1B[31mred\\x07"),
    ("NUL and DEL", "a\u{0}b\u{7F}", "a\\x00b\\x7F"),
    ("C1 CSI", "a\u{9B}31m", "a\\x9B31m"),
    ("right-to-left override", "abc\u{202E}fed", "abc\\u{202E}fed"),
    ("non-ASCII letters are kept", "zoë 日本", "zoë 日本"),
  ]

  @Test(arguments: values.indices)
  func valuesAreEscaped(_ index: Int) {
    let (name, input, shown) = Self.values[index]
    #expect(Echo.value(input) == shown, "\(name)")
    #expect(Echo.message(input) == shown, "\(name)")
  }

  @Test func longValuesAreCutAndSayHowMuchIsLeft() {
    let value = String(repeating: "x", count: 100_000)
    #expect(Echo.value(value) == String(repeating: "x", count: 120) + "…(99880 more bytes)")
    let message = Echo.message("key '\(value)' is not defined")
    #expect(message == "key '" + String(repeating: "x", count: 120) + "…(99880 more bytes)' is not defined")
  }

  @Test func messagesAreCappedWhole() {
    let message = Echo.message(Array(repeating: "'abc'", count: 1_000).joined(separator: " "))
    #expect(message.unicodeScalars.count < Echo.messageLimit + 40)
    #expect(message.hasSuffix("more bytes)"))
  }

  @Test func shortCleanMessagesAreReturnedAsTheyAre() {
    let message = "key 'bob' is not defined; did you mean 'bobby'?"
    #expect(Echo.message(message) == message)
  }

  @Test func keywardsOwnWordsBetweenValuesAreNeverCut() {
    let hint = String(repeating: "pass --allow-self-removal to remove it anyway; ", count: 5)
    let message = "refusing to remove 'SHA256:abc': " + hint + "then run 'keyward plan' again"
    #expect(Echo.message(message) == message)
    let escaped = Echo.message("key 'a\nb': " + hint)
    #expect(escaped == "key 'a\\nb': " + hint)
  }
}

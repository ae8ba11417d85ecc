import Testing

@testable import KeywardCommands

@Suite("Terminal labels")
struct TerminalTests {
  @Test(arguments: [
    (Terminal.Severity.error, false, "keyward: error: "),
    (.warning, false, "keyward: warning: "),
    (.error, true, "keyward: \u{1B}[1;31merror:\u{1B}[0m "),
    (.warning, true, "keyward: \u{1B}[33mwarning:\u{1B}[0m "),
  ])
  func labels(severity: Terminal.Severity, color: Bool, expected: String) {
    #expect(Terminal.label(severity, color: color) == expected)
  }
}

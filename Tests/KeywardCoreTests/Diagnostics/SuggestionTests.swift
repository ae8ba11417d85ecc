import Testing

@testable import KeywardCore

@Suite("Did you mean")
struct SuggestionTests {
  @Test(
    arguments: [
      ("hostnme", ["hostname", "port", "jump"], "hostname"),
      ("prot", ["hostname", "port", "jump"], "port"),
      ("conect_as", ["connect_as", "known_hosts"], "connect_as"),
      ("xyz", ["hostname", "port"], nil),
      ("allice", ["alice", "bob"], "alice"),
    ] as [(String, [String], String?)])
  func closestCandidate(word: String, candidates: [String], expected: String?) {
    #expect(Suggestion.closest(to: word, in: candidates) == expected)
  }

  @Test func diagnosticPrintsTheEditorForm() {
    let diagnostic = Diagnostic.error(
      .duplicateKey, "duplicate key 'web1' in this mapping",
      at: SourceLocation(file: "a.yaml", line: 4, column: 3),
      notes: [.init("'web1' first defined here", at: SourceLocation(file: "a.yaml", line: 2, column: 3))])
    #expect(
      diagnostic.description
        == "a.yaml:4:3: error: duplicate key 'web1' in this mapping [duplicate-key]\na.yaml:2:3: note: 'web1' first defined here"
    )
  }
}

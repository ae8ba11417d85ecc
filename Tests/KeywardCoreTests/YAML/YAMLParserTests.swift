import Foundation
import Testing

@testable import KeywardCore

@Suite("YAML parser")
struct YAMLParserTests {
  private func parse(_ text: String, budget: Int = YAMLParser.defaultAliasBudget) -> YAMLDocument {
    YAMLParser.parse(Array(text.utf8), file: "m.yaml", aliasBudget: budget)
  }

  private func codes(_ document: YAMLDocument) -> [String] {
    document.diagnostics.map { "\($0.location.map { "\($0.line):\($0.column)" } ?? "-") \($0.code.rawValue)" }
  }

  @Test func marksAreOneBasedAndCountCharacters() throws {
    let document = parse("a:\n  - x\n  - { clé: été, x: 1 }\n")
    #expect(document.diagnostics.isEmpty)
    let root = try #require(document.root)
    #expect((root.line, root.column) == (1, 1))
    let items = try #require(root.mapping?.first?.value.sequence)
    #expect((items[0].line, items[0].column) == (2, 5))
    let pairs = try #require(items[1].mapping)
    #expect((pairs[1].key.line, pairs[1].key.column) == (3, 17))
  }

  @Test func scalarsStayTextWithTheirStyle() throws {
    let document = parse("a: no\nb: 'no'\nc: !!str yes\nd: 0777\ne:\n")
    let pairs = try #require(document.root?.mapping)
    #expect(pairs.map { $0.value.scalar } == ["no", "no", "yes", "0777", ""])
    #expect(pairs.map(\.value.isPlainScalar) == [true, false, false, true, true])
    #expect(pairs[4].value.isNull)
    #expect(!pairs[1].value.isNull)
  }

  @Test func duplicateKeysPointAtBoth() throws {
    let document = parse("hosts:\n  web1: {}\n  web2: {}\n  web1: {}\n")
    #expect(codes(document) == ["4:3 duplicate-key"])
    let note = try #require(document.diagnostics.first?.notes.first)
    #expect(note.location == SourceLocation(file: "m.yaml", line: 2, column: 3))
    #expect(document.root?.mapping?.first?.value.mapping?.count == 2)
  }

  @Test func quotedAndPlainKeysAreTheSameKey() {
    #expect(codes(parse("a: 1\n'a': 2\n")) == ["2:1 duplicate-key"])
  }

  @Test func aliasesResolveToTheAnchoredNode() throws {
    let document = parse("base: &b [x, y]\nuse: *b\n")
    #expect(document.diagnostics.isEmpty)
    let pairs = try #require(document.root?.mapping)
    #expect(pairs[1].value.sequence?.compactMap(\.scalar) == ["x", "y"])
    #expect((pairs[1].value.line, pairs[1].value.column) == (2, 6))
  }

  @Test func mergeKeysLetExplicitKeysWin() throws {
    let text = "a: &a { port: 22, user: x }\nb: &b { port: 1, jump: j }\nc:\n  <<: [*a, *b]\n  port: 2222\n"
    let document = parse(text)
    #expect(document.diagnostics.isEmpty)
    let c = try #require(document.root?.mapping?[2].value.mapping)
    #expect(c.map { "\($0.key.scalar!)=\($0.value.scalar!)" } == ["port=2222", "user=x", "jump=j"])
  }

  @Test func badMergeValueIsAnError() {
    #expect(codes(parse("a:\n  <<: text\n")) == ["2:7 invalid-merge"])
  }

  @Test(arguments: [
    ("tab indent", "a:\n\tb: 1\n", "2:1 yaml-syntax"),
    ("bad indent", "a:\n  b: 1\n c: 2\n", "3:2 yaml-syntax"),
    ("unclosed quote", "a: \"x\nb: 1\n", "3:1 yaml-syntax"),
    ("unclosed flow", "a: [1, 2\n", "2:1 yaml-syntax"),
    ("undefined alias", "a: *nope\n", "1:4 undefined-alias"),
    ("recursive alias", "a: &x [1, *x]\n", "1:11 alias-cycle"),
    ("second document", "a: 1\n---\nb: 2\n", "2:1 unsupported-yaml"),
    ("custom tag", "a: !!int 3\n", "1:4 unsupported-yaml"),
    ("complex key", "? [a]\n: 1\n", "1:3 unsupported-yaml"),
  ])
  func malformedInputIsAClearError(name: String, text: String, expected: String) {
    #expect(codes(parse(text)) == [expected], "\(name)")
  }

  @Test func invalidUTF8ReportsLineAndColumn() throws {
    var bytes = Array("a: b\nc: dé".utf8)
    bytes.append(0xFF)
    bytes.append(contentsOf: Array("\n".utf8))
    let document = YAMLParser.parse(bytes, file: "m.yaml")
    #expect(document.root == nil)
    let diagnostic = try #require(document.diagnostics.first)
    #expect(diagnostic.code == .invalidEncoding)
    #expect(diagnostic.location == SourceLocation(file: "m.yaml", line: 2, column: 6))
  }

  @Test func controlCharactersAreRefused() {
    let document = YAMLParser.parse(Array("a: b\u{0}\n".utf8), file: "m.yaml")
    #expect(document.diagnostics.map(\.code) == [.invalidEncoding])
  }

  @Test func aliasBombStopsWithinTheBudget() throws {
    var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    var previous = "a"
    for level in 1...20 {
      let name = "l\(level)"
      text +=
        "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
      previous = name
    }
    let clock = ContinuousClock()
    var document: YAMLDocument?
    let elapsed = clock.measure { document = parse(text) }
    #expect(elapsed < .seconds(5))
    let diagnostic = try #require(document?.diagnostics.first)
    #expect(diagnostic.code == .aliasExpansion)
    #expect(diagnostic.location?.line == 6)
    #expect(document?.root == nil)
  }

  @Test func deepNestingIsRefused() {
    let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    let document = parse(text)
    #expect(document.root == nil)
    #expect(document.diagnostics.first?.code == .unsupportedYAML)
  }

  @Test func emptyInputHasNoRoot() {
    #expect(parse("").root == nil)
    #expect(parse("# only a comment\n").root == nil)
    #expect(parse("").diagnostics.isEmpty)
  }
}

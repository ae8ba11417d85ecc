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
    #expect(diagnostic.location?.line == 5)  // 10^5 nodes by l4: the 100,000-node budget
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

@Suite("YAML parser: malformed input")
struct YAMLMalformedInputTests {
  /// Every kind of error libyaml's scanner and parser report, each at its place.
  @Test(arguments: [
    ("tab", "a:\n\tb: 1\n", "2:1"),
    ("reserved indicator", "a: @b\n", "1:4"),
    ("mapping value in plain scalar", "a: b: c\n", "1:5"),
    ("block sequence in mapping value", "a: - b\n", "1:4"),
    ("missing colon", "a:\n  b\n  c: 1\n", "3:4"),
    ("unclosed single quote", "a: 'x\n", "2:1"),
    ("unknown escape", "a: \"\\q\"\n", "1:5"),
    ("bad hex escape", "a: \"\\xZZ\"\n", "1:7"),
    ("bad unicode escape", "a: \"\\UFFFFFFFF\"\n", "1:7"),
    ("unclosed flow sequence", "a: [1, 2\nb: 3\n", "2:2"),
    ("unclosed flow mapping", "a: {x: 1\n", "2:1"),
    ("extra closing bracket", "a: [1, 2]]\n", "1:10"),
    ("bad indentation of a sequence", "a:\n  - 1\n - 2\n", "3:2"),
    ("anchor without name", "a: & b\n", "1:5"),
    ("alias without name", "a: *\n", "1:5"),
    ("undefined tag handle", "a: !x!y b\n", "1:4"),
    ("incompatible version", "%YAML 2.0\n---\na: 1\n", "1:1"),
    ("duplicate version directive", "%YAML 1.1\n%YAML 1.1\n---\na: 1\n", "2:1"),
    ("directive without document", "%YAML 1.2\na: 1\n", "2:1"),
    ("block scalar bad indicator", "a: |x\n  text\n", "1:5"),
    ("content after document end", "a: 1\n... x\n", "2:5"),
    ("missing node in flow mapping", "{a: 1,, b: 2}\n", "1:7"),
  ])
  func syntaxErrorsHaveAPlace(name: String, text: String, position: String) throws {
    let document = YAMLParser.parse(Array(text.utf8), file: "m.yaml")
    #expect(document.root == nil, "\(name)")
    let diagnostic = try #require(document.diagnostics.first, "\(name)")
    #expect(document.diagnostics.count == 1, "\(name)")
    #expect(diagnostic.code == .yamlSyntax || diagnostic.code == .unsupportedYAML, "\(name)")
    #expect(diagnostic.location.map { "\($0.line):\($0.column)" } == position, "\(name): \(diagnostic)")
    #expect(!diagnostic.message.isEmpty && !diagnostic.message.hasSuffix("."))
  }

  /// Invalid UTF-8 anywhere is an `invalid-encoding` error at the byte's line and column.
  @Test(
    arguments: [
      ("lone continuation byte", [0x80], "2:6"),
      ("truncated sequence", [0xE2, 0x82], "2:7"),
      ("overlong encoding", [0xC0, 0xAF], "2:6"),
      ("surrogate", [0xED, 0xA0, 0x80], "2:6"),
      ("beyond U+10FFFF", [0xF4, 0x90, 0x80, 0x80], "2:6"),
      ("invalid lead byte", [0xFF], "2:6"),
    ] as [(String, [UInt8], String)])
  func invalidUTF8HasAPlace(name: String, bad: [UInt8], position: String) throws {
    let bytes = Array("a: 1\nb: 'é".utf8) + bad + Array("'\n".utf8)
    let document = YAMLParser.parse(bytes, file: "m.yaml")
    let diagnostic = try #require(document.diagnostics.first, "\(name)")
    #expect(diagnostic.code == .invalidEncoding, "\(name)")
    #expect(diagnostic.location.map { "\($0.line):\($0.column)" } == position, "\(name): \(diagnostic)")
  }

  @Test func utf16WithByteOrderMarkIsRead() throws {
    var bytes: [UInt8] = [0xFF, 0xFE]
    for unit in "a: é\n".utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
    let document = YAMLParser.parse(bytes, file: "m.yaml")
    #expect(document.diagnostics.isEmpty)
    #expect(document.root?.mapping?.first?.value.scalar == "é")
  }

  @Test func utf8ByteOrderMarkIsSkipped() throws {
    let document = YAMLParser.parse([0xEF, 0xBB, 0xBF] + Array("a: b\n".utf8), file: "m.yaml")
    let pair = try #require(document.root?.mapping?.first)
    #expect((pair.key.line, pair.key.column) == (1, 1))
  }

  /// A long manifest of ordinary content (about 5 MB) loads in bounded time.
  @Test func largeInputLoads() throws {
    let line = "  host\(String(repeating: "x", count: 40)): { hostname: 10.0.0.1, port: 22 }\n"
    var text = "hosts:\n"
    for index in 0..<70_000 { text += line.replacingOccurrences(of: "host", with: "h\(index)") }
    let clock = ContinuousClock()
    var document: YAMLDocument?
    let elapsed = clock.measure { document = YAMLParser.parse(Array(text.utf8), file: "big.yaml") }
    #expect(document?.diagnostics.isEmpty == true)
    #expect(document?.root?.mapping?.first?.value.mapping?.count == 70_000)
    #expect(elapsed < .seconds(60))
  }
}

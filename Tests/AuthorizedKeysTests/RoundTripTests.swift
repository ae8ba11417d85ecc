import AuthorizedKeys
import Foundation
import Testing

/// Parse then render gives the same bytes; new and changed lines are canonical.
struct RoundTripTests {
  struct Case: Sendable, CustomStringConvertible {
    var description: String
    var bytes: [UInt8]
  }

  static func text(_ string: String) -> [UInt8] { Array(string.utf8) }

  static let key = Samples.ed25519

  static let cases: [Case] = [
    Case(description: "empty file", bytes: []),
    Case(description: "single newline", bytes: text("\n")),
    Case(description: "two newlines", bytes: text("\n\n")),
    Case(description: "key without final newline", bytes: text(key)),
    Case(description: "key with final newline", bytes: text(key + "\n")),
    Case(description: "CRLF file", bytes: text("# keys\r\n" + key + " a\r\n\r\nno-pty " + key + "\r\n")),
    Case(
      description: "tabs and blanks everywhere",
      bytes: text(" \t" + key.replacingOccurrences(of: " ", with: "\t ") + "\t c \t\n\t\n")),
    Case(
      description: "invalid lines kept exactly",
      bytes: text("garbage here\nno-pty, no-user-rc " + key + "\ncommand=\"unterminated " + key + "\n")),
    Case(
      description: "invalid UTF-8 in comment and line",
      bytes: text(key + " caf") + [0xE9, 0xFF, 0x0A, 0xC3, 0x28, 0x0A]),
    Case(description: "NUL bytes", bytes: text(key) + [0, 0x41, 0x0A, 0, 0x0A] + text(key + "\0\0")),
    Case(description: "lone CRs", bytes: text("\r\r\n\r" + key + "\r")),
    Case(description: "BOM at the start", bytes: [0xEF, 0xBB, 0xBF] + text(key + "\n")),
    Case(description: "trailing blank lines without newline", bytes: text(key + "\n\n  ")),
  ]

  @Test("unchanged files render to the same bytes", arguments: cases)
  func unchanged(_ testCase: Case) {
    let file = AuthorizedKeysFile(bytes: testCase.bytes)
    #expect(file.render() == testCase.bytes)
    let newlines = testCase.bytes.filter { $0 == 0x0A }.count
    let expectedLines = newlines + (testCase.bytes.last == 0x0A || testCase.bytes.isEmpty ? 0 : 1)
    #expect(file.lines.count == expectedLines)
  }

  @Test("random byte files round-trip", arguments: 0..<20)
  func randomBytes(seed: Int) {
    var generator = SeededGenerator(seed: UInt64(seed))
    let alphabet: [UInt8] = Array(" \t\r\n\0#,=\"\\aZ+/".utf8) + [0xC2, 0xA0, 0xFF] + Array(Self.key.utf8)
    let bytes = (0..<Int.random(in: 0...2000, using: &generator)).map { _ in
      alphabet.randomElement(using: &generator)!
    }
    #expect(AuthorizedKeysFile(bytes: bytes).render() == bytes)
  }

  @Test("appended entries are canonical and end with a newline")
  func append() throws {
    var file = AuthorizedKeysFile(bytes: Self.text("# header\r\n" + Self.key))
    let key = try PublicKey(parsing: Samples.rsa1024)
    file.append(
      KeyEntry(
        options: [KeyOption(name: "command", value: "echo \"x\""), KeyOption(name: "no-pty")], key: key,
        comment: "bob"))
    let expected =
      "# header\r\n" + Self.key + "\ncommand=\"echo \\\"x\\\"\",no-pty " + Samples.rsa1024 + " bob\n"
    #expect(file.render() == Self.text(expected))
    // And it reads back to the same entry.
    let reread = AuthorizedKeysFile(bytes: file.render())
    #expect(reread.entries.last == file.entries.last)
  }

  @Test("changing an entry re-renders only that line")
  func change() throws {
    let original = Self.text("# a\r\n" + Self.key + "   old comment\r\n" + Samples.ecdsa256 + "\n")
    var file = AuthorizedKeysFile(bytes: original)
    var entry = try #require(file.lines[1].entry)
    entry.comment = "new"
    entry.options = [KeyOption(name: "restrict")]
    file.lines[1].entry = entry
    #expect(file.render() == Self.text("# a\r\nrestrict " + Self.key + " new\n" + Samples.ecdsa256 + "\n"))
  }

  @Test("setting an equal entry keeps the raw bytes")
  func noOpChange() throws {
    let original = Self.text("  no-pty   " + Self.key + "   c\r\n")
    var file = AuthorizedKeysFile(bytes: original)
    let entry = try #require(file.lines[0].entry)
    file.lines[0].entry = entry
    #expect(file.render() == original)
  }

  @Test("canonical rendering: one space, quoted values, comment kept")
  func canonical() throws {
    let line = AuthorizedKeysLine(
      text: "\t NO-PTY,,command=\"a\\\"b\"\t\t" + Self.key.replacingOccurrences(of: " ", with: "\t")
        + "  c  d ")
    let entry = try #require(line.entry)
    #expect(entry.rendered() == "NO-PTY,command=\"a\\\"b\" " + Self.key + " c  d ")
    #expect(AuthorizedKeysLine(text: entry.rendered()).entry == entry)
  }

  @Test("a rendered entry is always one line")
  func oneLine() throws {
    let key = try PublicKey(parsing: Self.key)
    let entry = KeyEntry(
      options: [KeyOption(name: "command", value: "a\nb")], key: key,
      comment: "x\nssh-ed25519 AAAA injected\r")
    let rendered = entry.rendered()
    #expect(!rendered.contains("\n") && !rendered.contains("\r"))
    #expect(AuthorizedKeysFile(bytes: Array((rendered + "\n").utf8)).lines.count == 1)
  }
}

/// A small deterministic generator (SplitMix64) for reproducible random inputs.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Splitting a file into pieces of whole lines for parallel reading.
struct LineChunkTests {
  @Test(
    "pieces cover every line once, with the right first line numbers",
    arguments: [
      ("", 2), ("a", 2), ("a\n", 3), ("a\nb", 2), ("\n\n\n\n", 2), ("one\ntwo\nthree\nfour\nfive\n", 3),
      ("x\n\ny\r\nz", 4), ("long line without newline", 8), ("a\nb\nc\nd\ne\nf\ng\nh\ni\nj", 16),
    ])
  func chunks(text: String, count: Int) {
    let bytes = Array(text.utf8)
    let all = InspectRecord.records(in: bytes)
    var pieced: [InspectRecord] = []
    bytes.withUnsafeBufferPointer { buffer in
      let chunks = AuthorizedKeysFile.lineChunks(buffer, count: count)
      #expect(chunks.count <= count)
      var expectedStart = 0
      for chunk in chunks {
        #expect(chunk.range.lowerBound == expectedStart)
        #expect(!chunk.range.isEmpty)
        expectedStart = chunk.range.upperBound
        InspectRecord.forEach(
          in: UnsafeBufferPointer(rebasing: buffer[chunk.range]), firstLineNumber: chunk.firstLineNumber
        ) { pieced.append($0) }
      }
      #expect(expectedStart == bytes.count)
    }
    #expect(pieced == all)
  }
}

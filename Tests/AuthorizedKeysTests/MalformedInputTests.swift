import AuthorizedKeys
import Testing

/// Hostile input never crashes: it gives `invalid` records with reasons.
struct MalformedInputTests {
  @Test("binary garbage", arguments: 0..<10)
  func garbage(seed: Int) {
    var generator = SeededGenerator(seed: UInt64(1000 + seed))
    let bytes = (0..<50_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let file = AuthorizedKeysFile(bytes: bytes)
    #expect(file.render() == bytes)
    for record in InspectRecord.records(for: file) where record.kind == .invalid {
      #expect(record.error?.isEmpty == false)
    }
  }

  @Test("a 1 MB line")
  func hugeLine() {
    let bytes = Array(("no-pty " + String(repeating: "A", count: 1 << 20)).utf8)
    let file = AuthorizedKeysFile(bytes: bytes)
    #expect(file.lines.count == 1 && file.lines[0].kind == .invalid)
    let hugeKey = Array(("ssh-rsa " + String(repeating: "AAAA", count: 1 << 18) + " c").utf8)
    #expect(AuthorizedKeysFile(bytes: hugeKey).lines[0].kind == .invalid)
    let hugeOptions = Array(
      ("command=\"" + String(repeating: "x", count: 1 << 20) + "\" " + Samples.ed25519).utf8)
    let optionsLine = AuthorizedKeysFile(bytes: hugeOptions).lines[0]
    #expect(optionsLine.kind == .key)
    #expect(optionsLine.entry?.options.first?.value?.count == 1 << 20)
  }

  @Test("a 1 MB comment")
  func hugeComment() {
    let bytes = Array((Samples.ed25519 + " " + String(repeating: "c", count: 1 << 20)).utf8)
    #expect(AuthorizedKeysFile(bytes: bytes).lines[0].entry?.comment?.count == 1 << 20)
  }

  @Test("invalid UTF-8 in every field")
  func invalidUTF8() {
    let bad: [UInt8] = [0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80]
    let lines: [[UInt8]] = [
      bad,
      Array(Samples.ed25519.utf8) + [0x20] + bad,
      Array("command=\"".utf8) + bad + Array("\" ".utf8) + Array(Samples.ed25519.utf8),
      Array("ssh-ed25519 ".utf8) + bad,
      bad + Array(" ".utf8) + Array(Samples.ed25519.utf8),
    ]
    for raw in lines {
      let line = AuthorizedKeysLine(raw: raw)
      #expect(line.raw == raw)
      _ = InspectRecord(number: 1, line: line)
    }
    #expect(AuthorizedKeysLine(raw: lines[1]).kind == .key)
    #expect(AuthorizedKeysLine(raw: lines[2]).kind == .key)
  }

  @Test("blobs with absurd lengths")
  func absurdLengths() throws {
    // A string length of 0xFFFFFFFF right after the type name.
    let blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]
    #expect(throws: KeyError.self) { try PublicKey(type: "ssh-ed25519", base64: Base64Text.encode(blob)) }
    let certificate: [UInt8] =
      [0, 0, 0, 32] + Array("ssh-ed25519-cert-v01@openssh.com".utf8) + [0x7F, 0xFF, 0xFF, 0xFF]
    #expect(throws: KeyError.self) {
      try PublicKey(type: "ssh-ed25519-cert-v01@openssh.com", base64: Base64Text.encode(certificate))
    }
  }
}

/// Base64 encoding for building test inputs.
enum Base64Text {
  static func encode(_ bytes: [UInt8]) -> String { Wire.encode(bytes) }
}

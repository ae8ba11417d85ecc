import Foundation
import SFTP
import Testing

/// A server that replies with scripted bytes and then closes; it records what it was sent.
final class ScriptedStream: ByteStream {
  private var script: [UInt8]
  private(set) var reads = 0
  private(set) var written: [UInt8] = []

  init(_ script: [UInt8]) { self.script = script }

  func write(_ bytes: [UInt8]) throws(StreamError) { written += bytes }

  func read(maximum: Int) throws(StreamError) -> [UInt8] {
    reads += 1
    let count = min(maximum, script.count, 7)  // dribble: exercise reassembly
    defer { script.removeFirst(count) }
    return Array(script.prefix(count))
  }

  func close() {}
}

/// Builds reply packets for the table.
enum Reply {
  static func packet(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
    u32(UInt32(body.count + 1)) + [type] + body
  }

  static func u32(_ value: UInt32) -> [UInt8] {
    [
      UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
      UInt8(truncatingIfNeeded: value),
    ]
  }

  static func string(_ bytes: [UInt8]) -> [UInt8] { u32(UInt32(bytes.count)) + bytes }

  static let version = packet(2, u32(3) + string(Array("fsync@openssh.com".utf8)) + string(Array("1".utf8)))
  static func attributes(id: UInt32) -> [UInt8] { packet(105, u32(id) + u32(0x4) + u32(0o100644)) }
  static func status(id: UInt32, _ code: UInt32, _ message: String) -> [UInt8] {
    packet(101, u32(id) + u32(code) + string(Array(message.utf8)) + string([]))
  }
}

@Suite("SFTP malformed replies")
struct MalformedReplyTests {
  struct Case: CustomStringConvertible, Sendable {
    var name: String
    /// Bytes after a valid VERSION reply; the client then asks `stat` (request id 1).
    var reply: [UInt8]
    var expected: SFTPError.Kind
    var description: String { name }
  }

  static let cases: [Case] = [
    Case(name: "nothing at all", reply: [], expected: .stream),
    Case(name: "truncated length", reply: [0, 0], expected: .stream),
    Case(name: "truncated body", reply: Array(Reply.attributes(id: 1).dropLast(3)), expected: .stream),
    Case(name: "wrong request id", reply: Reply.attributes(id: 99), expected: .malformed),
    Case(name: "huge length", reply: [0xFF, 0xFF, 0xFF, 0xF0, 105], expected: .malformed),
    Case(name: "zero length", reply: [0, 0, 0, 0], expected: .malformed),
    Case(
      name: "wrong type for stat", reply: Reply.packet(102, Reply.u32(1) + Reply.string([1, 2])),
      expected: .malformed),
    Case(name: "unknown type", reply: Reply.packet(77, Reply.u32(1)), expected: .malformed),
    Case(name: "a request type as reply", reply: Reply.packet(3, Reply.u32(1)), expected: .malformed),
    Case(name: "version again", reply: Reply.version, expected: .malformed),
    Case(
      name: "attributes cut short", reply: Reply.packet(105, Reply.u32(1) + Reply.u32(0xF)),
      expected: .malformed),
    Case(
      name: "extended count lies",
      reply: Reply.packet(105, Reply.u32(1) + Reply.u32(0x8000_0000) + Reply.u32(0xFFFF_FFFF)),
      expected: .malformed),
    Case(name: "empty body", reply: Reply.packet(105, []), expected: .malformed),
    Case(name: "garbage", reply: Array("SSH-2.0-OpenSSH_9.2 garbage\r\n".utf8), expected: .malformed),
    Case(
      name: "status no such file", reply: Reply.status(id: 1, 2, "No such file"),
      expected: .status(.noSuchFile)),
    Case(
      name: "status unknown code", reply: Reply.status(id: 1, 4242, "odd"),
      expected: .status(SFTPStatus(rawValue: 4242))),
    Case(
      name: "status without message", reply: Reply.packet(101, Reply.u32(1) + Reply.u32(3)),
      expected: .status(.permissionDenied)),
    Case(
      name: "status message string overflows",
      reply: Reply.packet(101, Reply.u32(1) + Reply.u32(4) + Reply.u32(0x7FFF_FFFF) + [65]),
      expected: .malformed),
  ]

  @Test(arguments: cases)
  func statReplyIsATypedError(_ testCase: Case) throws {
    let stream = ScriptedStream(Reply.version + testCase.reply)
    let client = try SFTPClient(stream: stream)
    let error = #expect(throws: SFTPError.self) { try client.stat("/x") }
    #expect(error?.kind == testCase.expected)
    if let error, error.isFatal {
      // Broken for good: the next call fails at once without reading.
      let reads = stream.reads
      #expect(throws: SFTPError.self) { try client.stat("/y") }
      #expect(stream.reads == reads)
    }
  }

  @Test func statusMessagesLoseTheirControlCharacters() throws {
    let hostile = "Denied\u{1b}]0;pwned\u{07}\r\n\u{202E}txt.exe\u{9b}"
    let client = try SFTPClient(stream: ScriptedStream(Reply.version + Reply.status(id: 1, 3, hostile)))
    let error = #expect(throws: SFTPError.self) { try client.stat("/x\u{1b}") }
    let message = try #require(error?.message)
    #expect(
      !message.unicodeScalars.contains {
        $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{202E}"
      })
    #expect(message.contains("Denied?]0;pwned??"))
  }

  @Test func aReadReplyLongerThanAskedIsRefused() throws {
    let handle = Reply.packet(102, Reply.u32(1) + Reply.string([7]))
    let data = Reply.packet(103, Reply.u32(2) + Reply.string([UInt8](repeating: 1, count: 10)))
    let client = try SFTPClient(stream: ScriptedStream(Reply.version + handle + data))
    let opened = try client.open("/x", flags: .read)
    let error = #expect(throws: SFTPError.self) { try client.read(opened, offset: 0, length: 4) }
    #expect(error?.kind == .malformed)
  }

  @Test(arguments: [
    ("no version", [UInt8]()),
    ("status instead of version", Reply.status(id: 0, 0, "")),
    ("version 4", Reply.packet(2, Reply.u32(4))),
    ("version with broken extension", Reply.packet(2, Reply.u32(3) + Reply.u32(100))),
  ])
  func aBrokenHandshakeIsATypedError(_ name: String, _ reply: [UInt8]) {
    #expect(throws: SFTPError.self) { try SFTPClient(stream: ScriptedStream(reply)) }
  }

  @Test func theCodecSurvivesRandomAndMutatedInput() {
    var random = SeededBytes(seed: 2026)
    let valid =
      Reply.version + Reply.attributes(id: 1) + Reply.status(id: 2, 1, "eof")
      + Reply.packet(
        104, Reply.u32(3) + Reply.u32(1) + Reply.string([65]) + Reply.string([66]) + Reply.u32(0))
    var decoded = 0
    var refused = 0
    let rounds = 20_000
    for round in 0..<rounds {
      var input: [UInt8]
      if round % 2 == 0 {
        input = random.bytes(Int(random.next() % 64))
        if round % 4 == 0 { input = Reply.u32(UInt32(input.count)) + input }
      } else {
        input = valid
        for _ in 0..<(1 + random.next() % 4) {
          let index = Int(random.next() % UInt64(input.count))
          input[index] = UInt8(truncatingIfNeeded: random.next())
        }
      }
      for result in SFTPCodec.decodeStream(input) {
        switch result {
        case .success: decoded += 1
        case .failure(let error):
          refused += 1
          #expect(error.kind == .malformed)
        }
      }
    }
    print("sftp codec: \(rounds) inputs, \(decoded) packets decoded, \(refused) refused")
    #expect(refused > 0 && decoded > 0)
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardCommands

/// `keyward inspect`: records, JSON and text forms, exit codes.
@Suite("keyward inspect", .tags(.processes))
struct InspectCommandTests {
  static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHQhxcEnrhJVcAC2WBo6A1Sd/3EIKL7GuPX1cv61AIh"
  static let ecdsa =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJVvYgqC9WvRRtUsLEVg12Q9K014yIAiPrNulEbcZpaFOMML9z/0Q1Vlqn5mS9Arfd9lu4jn5/eAWIpgDn16Ez0="

  /// A file with every kind of line (CRLF on the last one).
  static let mixed =
    "# team keys\n\n" + ed25519 + " alice@laptop\n"
    + "no-pty,command=\"echo \\\"hi\\\"\",environment=\"A=b\" " + ecdsa + "\n"
    + "no-pty, " + ed25519 + " trailing comma\n" + "garbage line\n" + "bogus " + ecdsa + "\r\n"

  func fingerprint(_ line: String) throws -> String { try PublicKey(parsing: line).fingerprint }

  @Test func jsonHasOneRecordPerLineWithEveryField() throws {
    let (output, status) = InspectCommand.report(Array(Self.mixed.utf8), format: .json)
    #expect(status == 1)
    let records = try #require(try JSONSerialization.jsonObject(with: Data(output)) as? [[String: Any]])
    #expect(records.count == 7)
    #expect(records.map { $0["line"] as? Int } == Array(1...7))
    #expect(
      records.map { $0["kind"] as? String } == [
        "comment", "blank", "key", "key", "key", "invalid", "invalid",
      ])
    for record in records {
      #expect(
        Set(record.keys) == ["line", "kind", "type", "bits", "fingerprint", "options", "comment", "error"])
    }
    #expect(records[2]["type"] as? String == "ssh-ed25519")
    #expect(records[2]["bits"] as? Int == 256)
    #expect(records[2]["fingerprint"] as? String == (try fingerprint(Self.ed25519)))
    #expect(records[2]["comment"] as? String == "alice@laptop")
    #expect(records[2]["error"] is NSNull)
    let options = try #require(records[3]["options"] as? [[String: Any]])
    #expect(options.map { $0["name"] as? String } == ["no-pty", "command", "environment"])
    #expect(options[0]["value"] is NSNull)
    #expect(options[1]["value"] as? String == "echo \"hi\"")
    #expect(records[3]["comment"] is NSNull)
    #expect(records[4]["comment"] as? String == "trailing comma")
    #expect(records[0]["comment"] as? String == "# team keys")
    #expect((records[5]["error"] as? String)?.isEmpty == false)
    // A line with bad options still names its key, and its error quotes sshd.
    #expect(records[6]["fingerprint"] as? String == (try fingerprint(Self.ecdsa)))
    #expect((records[6]["error"] as? String)?.contains("unknown key option") == true)
  }

  @Test func jsonDecodesBackToTheRecords() throws {
    let bytes = Array(Self.mixed.utf8)
    let (output, _) = InspectCommand.report(bytes, format: .json)
    let decoded = try JSONDecoder().decode([InspectRecord].self, from: Data(output))
    #expect(decoded == InspectRecord.records(for: AuthorizedKeysFile(bytes: bytes)))
    #expect(decoded == InspectRecord.records(in: bytes))
  }

  @Test func jsonEscapesControlCharactersAndInvalidUTF8() throws {
    let bytes = Array((Self.ed25519 + " tab\there \"q\" back\\slash bell\u{07}").utf8) + [0x20, 0xFF, 0x0A]
    let (output, status) = InspectCommand.report(bytes, format: .json)
    #expect(status == 0)
    let records = try #require(try JSONSerialization.jsonObject(with: Data(output)) as? [[String: Any]])
    #expect(records.first?["comment"] as? String == "tab\there \"q\" back\\slash bell\u{07} \u{FFFD}")
  }

  @Test func emptyInputIsAnEmptyArrayAndValid() throws {
    let (output, status) = InspectCommand.report([], format: .json)
    #expect(String(decoding: output, as: UTF8.self) == "[]\n")
    #expect(status == 0)
  }

  @Test func textIsAnAlignedTable() throws {
    let input = "# keys\n" + Self.ed25519 + " alice\nrestrict " + Self.ecdsa + "\nnope\n"
    let (output, status) = InspectCommand.report(Array(input.utf8), format: .text)
    #expect(status == 1)
    let ed = try fingerprint(Self.ed25519)
    let ec = try fingerprint(Self.ecdsa)
    let expected = """
      LINE  KIND     TYPE                 BITS  FINGERPRINT                                         DETAILS
      1     comment  -                    -     -                                                   # keys
      2     key      ssh-ed25519          256   \(ed)  comment: alice
      3     key      ecdsa-sha2-nistp256  256   \(ec)  options: restrict
      4     invalid  -                    -     -                                                   error: no key: \
      no key type at the start of the line or after an options field; expected '[OPTIONS] TYPE BASE64 [COMMENT]', \
      found 'nope'

      """
    #expect(String(decoding: output, as: UTF8.self) == expected)
  }

  @Test func textShowsControlCharactersVisibly() {
    let (output, _) = InspectCommand.report(Array((Self.ed25519 + " a\rb\u{1B}[31m").utf8), format: .text)
    let text = String(decoding: output, as: UTF8.self)
    #expect(text.contains("comment: a\\x0db\\x1b[31m"))
    #expect(!text.contains("\u{1B}"))
  }

  @Test func validFileExitsZeroFromTheCommandLine() throws {
    let directory = try TemporaryFolder()
    let file = directory.path + "/authorized_keys"
    try Data((Self.ed25519 + "\n# c\n\n").utf8).write(to: URL(fileURLWithPath: file))
    let result = try KeywardProcess.run(["inspect", file, "--format", "json"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty)
    #expect(result.stdout.hasPrefix("[\n  {\"line\":1,\"kind\":\"key\""))
  }

  @Test func invalidLineExitsOne() throws {
    let directory = try TemporaryFolder()
    let file = directory.path + "/authorized_keys"
    try Data("ssh-ed25519 AAAA\n".utf8).write(to: URL(fileURLWithPath: file))
    let result = try KeywardProcess.run(["inspect", file])
    #expect(result.status == 1)
    #expect(result.stdout.contains("invalid"))
  }

  @Test(arguments: [
    (
      ["inspect", "/nonexistent/authorized_keys"], "cannot read '/nonexistent/authorized_keys': no such file"
    ),
    (["inspect", "/"], "cannot read '/': is a directory"),
    (["inspect", "--format", "yaml", "-"], "format"),
    (["inspect", "a", "b"], "Unexpected argument"),
    (["inspect", "-x"], "Unexpected argument '-x'"),
    (["inspect", "--", "-x"], "cannot read '-x': no such file"),
  ])
  func usageErrorsAndUnreadableInputExitTwo(arguments: [String], message: String) throws {
    let result = try KeywardProcess.run(arguments)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(result.stderr.contains(message), "\(result.stderr)")
  }

  @Test func binaryGarbageNeverCrashes() throws {
    var state: UInt64 = 0x1234_5678
    let bytes = (0..<200_000).map { _ -> UInt8 in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 33)
    }
    for format in InspectCommand.Format.allCases {
      let (output, status) = InspectCommand.report(bytes, format: format)
      #expect(!output.isEmpty)
      #expect(status == 1)
    }
  }
}

/// A temporary directory removed when the value is released.
final class TemporaryFolder {
  let path: String

  init() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-inspect-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    path = url.path
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension InspectCommandTests {
  @Test func largeFilesReadInParallelGiveTheSameReport() throws {
    var text = ""
    var number = 0
    while text.utf8.count < 3 << 20 {
      number += 1
      text +=
        number % 7 == 0
        ? "# c\(number)\n" : number % 11 == 0 ? "bad \(number)\n" : "\(Self.ed25519) u\(number)\n"
    }
    let bytes = Array(text.utf8)
    let records = InspectRecord.records(in: bytes)
    #expect(records.count == number)
    let (json, status) = InspectCommand.report(bytes, format: .json)
    #expect(json == InspectRenderer.json(records))
    #expect(status == 1)
    let (table, _) = InspectCommand.report(bytes, format: .text)
    #expect(table == InspectRenderer.text(records))
  }
}

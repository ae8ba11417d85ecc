import Foundation
import KeywardTestSupport
import Testing

/// `keyward validate` as a user runs it: output forms and exit codes.
@Suite("keyward validate")
struct ValidateCommandTests {
  static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

  func validate(_ arguments: String...) throws -> KeywardProcess.Result {
    try KeywardProcess.run(["validate"] + arguments, directory: Self.repository)
  }

  @Test func examplesAreValid() throws {
    for path in ["examples/", "examples/minimal.yaml", "examples/fleet"] {
      let result = try validate(path)
      #expect(result.status == 0, "\(path): \(result.stderr)")
      #expect(result.stdout.hasPrefix("\(path): valid ("))
      #expect(result.stderr.isEmpty)
    }
  }

  @Test func errorsPrintTheEditorFormAndExitOne() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("m.yaml").path
    try Data("version: 1\nhosts:\n  web1: { prot: 22 }\n  web1: {}\n".utf8).write(
      to: URL(fileURLWithPath: file))
    let result = try validate(file)
    #expect(result.status == 1)
    #expect(
      result.stderr == """
        \(file):3:11: error: unknown field 'prot' in host 'web1'; did you mean 'port'? [unknown-field]
        \(file):4:3: error: duplicate key 'web1' in this mapping [duplicate-key]
        \(file):3:3: note: 'web1' first defined here

        """)
    #expect(result.stdout == "\(file): invalid (2 errors)\n")

    let json = try validate(file, "--format", "json")
    #expect(json.status == 1)
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let diagnostics = try #require(report["diagnostics"] as? [[String: Any]])
    #expect(diagnostics.map { $0["code"] as? String } == ["unknown-field", "duplicate-key"])
    #expect(diagnostics.map { $0["line"] as? Int } == [3, 4])
    #expect(diagnostics.map { $0["column"] as? Int } == [11, 3])
    let notes = try #require(diagnostics[1]["notes"] as? [[String: Any]])
    #expect(notes.first?["line"] as? Int == 3)
    #expect((report["manifest"] as? [String: Any])?["valid"] as? Bool == false)
  }

  @Test func warningsAloneExitZero() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let key = try String(contentsOfFile: Self.repository + "/examples/fleet/keys/carol.pub", encoding: .utf8)
    let file = directory.appendingPathComponent("m.yaml").path
    let text =
      "version: 1\nkeys:\n  old: { key: \(key.trimmingCharacters(in: .newlines)), expires: 2001-01-01 }\n"
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    let result = try validate(file)
    #expect(result.status == 0)
    #expect(
      result.stderr
        == "\(file):3:\(text.split(separator: "\n")[2].count - 11): warning: key 'old' expired on 2001-01-01; plans remove it from every target [key-expired]\n"
    )
    #expect(result.stdout == "\(file): valid (1 file, 0 targets, 0 entries, 1 warning)\n")
  }

  @Test func unreadablePathsExitTwo() throws {
    let missing = try validate("no/such/manifest.yaml")
    #expect(missing.status == 2)
    #expect(
      missing.stderr.contains("cannot read manifest 'no/such/manifest.yaml': no such file [unreadable-file]"))
    let empty = try validate("Sources")
    #expect(empty.status == 2)
    #expect(try validate().status == 2)
  }
}

import Foundation
import KeywardTestSupport
import Testing

/// `keyward rotate-login` refusals a user meets before any host is contacted (the rotation
/// itself runs against real hosts in `RotateLoginFleetTests` and `RolloutOrderFleetTests`).
@Suite("keyward rotate-login", .tags(.processes))
struct RotateLoginCommandTests {
  struct Case: Sendable, CustomStringConvertible {
    var name: String
    var arguments: [String]
    var message: String
    var description: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "no public key beside the private one", arguments: ["--new-key", "missing"],
      message: "cannot read 'missing.pub': --new-key takes the private key and reads its public key beside it"
    ),
    Case(
      name: "local mode", arguments: ["--new-key", "next", "--local"],
      message: "rotate-login rotates the key keyward logs in with over SSH; --local has none"),
    Case(
      name: "resume", arguments: ["--new-key", "next", "--resume", "x.plan"],
      message: "rotate-login resumes by running it again; --resume is for apply"),
    Case(
      name: "markdown", arguments: ["--new-key", "next", "--format", "markdown"],
      message: "rotate-login reports are text or json"),
    Case(
      name: "the new key is the current one", arguments: ["--new-key", "next", "--identity", "next"],
      message: "--new-key 'next' is the key keyward logs in with now (--identity)"),
    Case(
      name: "not a public key", arguments: ["--new-key", "keys.yaml"],
      message: "'keys.yaml.pub' is not an OpenSSH public key"),
  ]

  @Test(arguments: cases)
  func refusedBeforeAnyHost(_ c: Case) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let manifest =
      "version: 1\nkeys:\n  k: \(TestKeys.ci)\nhosts:\n  web1: {}\naccess:\n  - { hosts: [web1], users: [deploy], keys: [k] }\n"
    try Data(manifest.utf8).write(to: directory.appendingPathComponent("keys.yaml"))
    try Data("not a key\n".utf8).write(to: directory.appendingPathComponent("keys.yaml.pub"))
    try Data((TestKeys.dave + "\n").utf8).write(to: directory.appendingPathComponent("next.pub"))
    let result = try KeywardProcess.run(
      ["rotate-login", "keys.yaml", "--auto-approve"] + c.arguments, directory: directory.path)
    #expect(result.status != 0)
    #expect(result.stderr.contains(c.message), "\(result.stderr)")
    #expect(!result.stdout.contains("Wave "))
  }
}

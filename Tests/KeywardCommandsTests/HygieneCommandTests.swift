import Foundation
import KeywardTestSupport
import Testing

/// Untrusted input through the real command line: `file:` sources and `--version`.
@Suite("keyward input hygiene", .tags(.processes))
struct HygieneCommandTests {
  static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

  @Test func versionNamesTheReleaseAndTheBuild() throws {
    let result = try KeywardProcess.run(["--version"])
    #expect(result.status == 0)
    let line = result.stdout.trimmingCharacters(in: .newlines)
    // A working-tree build says so; scripts/package writes the commit instead.
    #expect(
      line.range(
        of: #"^[0-9]+\.[0-9]+\.[0-9]+ \((development build|commit [0-9a-f]{40})\)$"#,
        options: .regularExpression) != nil, "\(line)")
  }

  @Test func aPrivateKeyAsFileSourceIsRefusedWithoutShowingIt() throws {
    let directory = NSTemporaryDirectory() + "keyward-hygiene-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let keygen = try Fleet.run(
      "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory + "/id"])
    #expect(keygen.status == 0)
    // The manifest lives in repo/; the keys one level up.
    try FileManager.default.createDirectory(atPath: directory + "/repo", withIntermediateDirectories: true)
    let yaml = "version: 1\nkeys:\n  a: { file: ../id }\n  b: { file: \(directory)/id.pub }\n"
    let manifest = directory + "/repo/keys.yaml"
    try Data(yaml.utf8).write(to: URL(fileURLWithPath: manifest))
    let result = try KeywardProcess.run(["validate", manifest, "--format", "json"])
    #expect(result.status == 1)
    let secret = try String(contentsOfFile: directory + "/id", encoding: .utf8)
    for line in secret.split(separator: "\n") where !line.hasPrefix("-----") {
      #expect(!(result.stdout + result.stderr).contains(line.prefix(16)), "the private key is echoed")
    }
    #expect(result.stdout.components(separatedBy: "outside the manifest's directory").count == 3)
    // The absolute path is accepted once its directory is allowed (the private key stays refused).
    let allowed = try KeywardProcess.run(
      ["validate", manifest], environment: ["KEYWARD_KEY_FILE_ROOTS": directory])
    #expect(!allowed.stderr.contains("outside the manifest's directory"))
    #expect(allowed.stderr.contains("private key"))
    for line in secret.split(separator: "\n") where !line.hasPrefix("-----") {
      #expect(!allowed.stderr.contains(line.prefix(16)), "the private key is echoed")
    }
  }
}

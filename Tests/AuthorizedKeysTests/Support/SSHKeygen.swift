import Foundation

/// The real `ssh-keygen`, the oracle for key parsing (`sshkey_read`) and fingerprints.
///
/// Tests that need it are enabled when it is installed, and also whenever `CI=true`, so
/// that in CI a missing `ssh-keygen` fails the tests instead of skipping them.
enum SSHKeygen {
  static let path: String? = ["/usr/bin/ssh-keygen", "/usr/local/bin/ssh-keygen", "/bin/ssh-keygen"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

  static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

  /// Whether tests needing ssh-keygen should run (they then `#require` it).
  static let enabled = path != nil || isCI

  struct Missing: Error, CustomStringConvertible {
    var description: String { "ssh-keygen is not installed (apt-get install openssh-client)" }
  }

  /// Runs `ssh-keygen` with `arguments`.
  static func run(_ arguments: [String]) throws -> Subprocess.Output {
    guard let path else { throw Missing() }
    return try Subprocess.run(path, arguments)
  }

  /// What `ssh-keygen -l -E sha256` prints for a key.
  struct Fingerprint: Hashable, CustomStringConvertible {
    var bits: Int
    var fingerprint: String
    /// The name in parentheses, e.g. `ED25519` or `RSA-CERT`.
    var kind: String
    var description: String { "\(bits) \(fingerprint) (\(kind))" }
  }

  /// `ssh-keygen -l -E sha256` of each line of `lines` (each a `type blob` pair, run on
  /// its own file), or `nil` where ssh-keygen refuses the key.
  static func fingerprints(of lines: [String], in directory: URL) throws -> [Fingerprint?] {
    var results: [Fingerprint?] = []
    for (index, line) in lines.enumerated() {
      let file = directory.appendingPathComponent("fp-\(index)-\(UUID().uuidString).pub")
      try Data((line + "\n").utf8).write(to: file)
      defer { try? FileManager.default.removeItem(at: file) }
      let output = try run(["-l", "-E", "sha256", "-f", file.path])
      guard output.status == 0 else {
        results.append(nil)
        continue
      }
      let fields = output.stdout.split(separator: " ")
      guard fields.count >= 3, let bits = Int(fields[0]), let kind = fields.last else {
        results.append(nil)
        continue
      }
      results.append(
        Fingerprint(
          bits: bits, fingerprint: String(fields[1]),
          kind: kind.trimmingCharacters(in: CharacterSet(charactersIn: "()\n"))))
    }
    return results
  }
}

/// Runs a program without a shell and collects its output through temporary files.
enum Subprocess {
  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ path: String, _ arguments: [String], stdin: Data = Data()) throws -> Output {
    let directory = try TemporaryDirectory()
    let outURL = directory.url.appendingPathComponent("stdout")
    let errURL = directory.url.appendingPathComponent("stderr")
    let inURL = directory.url.appendingPathComponent("stdin")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    try stdin.write(to: inURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = inHandle
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    try inHandle.close()
    return Output(
      status: process.terminationStatus,
      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
  }
}

/// A directory made with `mkdtemp`, removed when the value is released.
final class TemporaryDirectory: Sendable {
  let url: URL

  init(prefix: String = "keyward-test") throws {
    var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
      guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
      return String(cString: result)
    }
    guard let made else { throw CocoaError(.fileWriteUnknown) }
    url = URL(fileURLWithPath: made)
  }

  deinit { try? FileManager.default.removeItem(at: url) }
}

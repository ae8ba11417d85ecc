import Foundation
import KeywardCore

/// Signs and verifies plan files with an SSH key, through the real `ssh-keygen -Y sign` and
/// `ssh-keygen -Y verify` (namespace `keyward-plan`), so that CI can require that the plan it
/// applies is the plan that was reviewed. The plan's bytes go to `ssh-keygen` on its standard
/// input: what is verified is exactly what is then read.
enum PlanSignature {
  /// The signature namespace: a signature made for anything else (e.g. a git commit) is refused.
  static let namespace = "keyward-plan"

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// The default signature file of a plan file.
  static func defaultPath(for plan: String) -> String { plan + ".sig" }

  /// Signs `bytes` with the private key `key` (or a public key whose private half is in
  /// ssh-agent); returns the armored signature.
  static func sign(_ bytes: [UInt8], key: String) throws -> [UInt8] {
    let result = try run(["-Y", "sign", "-f", key, "-n", namespace], input: bytes)
    guard result.status == 0, !result.stdout.isEmpty else {
      throw Failure(
        description:
          "cannot sign the plan with '\(key)': \(result.stderrLine) (ssh-keygen exit \(result.status))")
    }
    return result.stdout
  }

  /// Checks that `signature` is a `keyward-plan` signature of `bytes` by `identity` under
  /// `allowedSigners` (OpenSSH's allowed-signers format); returns ssh-keygen's own words.
  static func verify(_ bytes: [UInt8], signature: String, allowedSigners: String, identity: String) throws
    -> String
  {
    guard FileManager.default.fileExists(atPath: signature) else {
      throw Failure(
        description: "the plan has no signature '\(signature)'; sign it with 'keyward plan --sign-key'")
    }
    let result = try run(
      ["-Y", "verify", "-f", allowedSigners, "-I", identity, "-n", namespace, "-s", signature], input: bytes)
    guard result.status == 0 else {
      throw Failure(
        description:
          "the plan's signature '\(signature)' is not a valid '\(namespace)' signature by '\(identity)' under"
          + " '\(allowedSigners)': \(result.stderrLine.isEmpty ? result.stdoutLine : result.stderrLine)")
    }
    return result.stdoutLine
  }

  struct Output {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]
    var stdoutLine: String { Self.lastLine(stdout) }
    var stderrLine: String { Self.lastLine(stderr) }

    static func lastLine(_ bytes: [UInt8]) -> String {
      let text = String(decoding: bytes, as: UTF8.self)
      let lines = text.split(whereSeparator: \.isNewline).map(String.init)
      return LineChange.printable(lines.last ?? "")
    }
  }

  static func run(_ arguments: [String], input: [UInt8]) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ssh-keygen"] + arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    do {
      try process.run()
    } catch {
      throw Failure(description: "cannot run ssh-keygen: \(error.localizedDescription)")
    }
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let done = DispatchSemaphore(value: 0)
    Thread {
      errBox.data = stderr.fileHandleForReading.readDataToEndOfFile()
      done.signal()
    }.start()
    let writer = Thread {
      try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
      try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    done.wait()
    return Output(status: process.terminationStatus, stdout: Array(out), stderr: Array(errBox.data))
  }
}

import Foundation

/// The revision of the manifests a run used, recorded in files written and in run records:
/// `KEYWARD_REVISION` when set (CI can pass its commit), else the git commit of the work
/// tree holding the first manifest path, with `-dirty` when those paths have uncommitted
/// changes; `nil` outside git.
enum ManifestRevision {
  static func detect(_ paths: [String]) -> String? {
    if let given = Environment.value("KEYWARD_REVISION"), !given.isEmpty { return given }
    guard let first = paths.first else { return nil }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: first, isDirectory: &isDirectory) else { return nil }
    let url = URL(fileURLWithPath: first)
    let directory = isDirectory.boolValue ? url.path : url.deletingLastPathComponent().path
    guard let head = git(["-C", directory, "rev-parse", "--verify", "-q", "HEAD"]), head.count >= 7 else {
      return nil
    }
    let absolute = paths.map { URL(fileURLWithPath: $0).path }
    let status = git(["-C", directory, "status", "--porcelain", "--"] + absolute) ?? ""
    return status.isEmpty ? head : head + "-dirty"
  }

  /// Runs git; its trimmed output, or `nil` when it fails or is missing.
  static func git(_ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["GIT_OPTIONAL_LOCKS"] = "0"
    process.environment = environment
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

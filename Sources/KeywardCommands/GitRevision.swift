import ArgumentParser
import Foundation

/// Manifest paths as they were at a git revision, extracted into a temporary directory
/// (`git archive`), for `diff --base`.
struct GitRevision {
  /// The temporary directory, and each given path inside it.
  var directory: String
  var paths: [String]

  func remove() { try? FileManager.default.removeItem(atPath: directory) }

  /// Extracts the directory of each path (its key files come with it) at `revision`.
  static func checkout(_ revision: String, paths: [String]) throws -> GitRevision {
    let first = URL(fileURLWithPath: paths[0]).standardizedFileURL
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: first.path, isDirectory: &isDirectory)
    let probe = exists && isDirectory.boolValue ? first.path : first.deletingLastPathComponent().path
    guard let top = ManifestRevision.git(["-C", probe, "rev-parse", "--show-toplevel"]) else {
      Terminal.report(.error, "'\(paths[0])' is not in a git work tree; --base needs one")
      throw ExitCode(1)
    }
    guard ManifestRevision.git(["-C", top, "rev-parse", "--verify", "-q", revision + "^{commit}"]) != nil
    else {
      Terminal.report(.error, "'\(revision)' is not a commit in \(top)")
      throw ExitCode(1)
    }
    let topURL = URL(fileURLWithPath: top).resolvingSymlinksInPath()
    var relative: [String] = []
    var folders: Set<String> = []
    for path in paths {
      let url = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath()
      guard url.path.hasPrefix(topURL.path + "/") || url.path == topURL.path else {
        Terminal.report(.error, "'\(path)' is outside the git work tree \(top)")
        throw ExitCode(1)
      }
      let inside = String(url.path.dropFirst(topURL.path.count)).drop { $0 == "/" }
      relative.append(String(inside))
      var isDir: ObjCBool = false
      let isFolder = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
      let folder = isFolder ? String(inside) : (inside as NSString).deletingLastPathComponent
      folders.insert(folder.isEmpty ? "." : folder)
    }
    let directory = NSTemporaryDirectory() + "keyward-base-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let archive = directory + "/.base.tar"
    let made =
      ManifestRevision.git(
        ["-C", top, "archive", "--format=tar", "-o", archive, revision, "--"] + folders.sorted())
      != nil
    let extracted = made && run("/usr/bin/env", ["tar", "-xf", archive, "-C", directory])
    try? FileManager.default.removeItem(atPath: archive)
    guard extracted else {
      try? FileManager.default.removeItem(atPath: directory)
      Terminal.report(
        .error,
        "cannot read \(folders.sorted().joined(separator: ", ")) at '\(revision)' (did they exist then?)"
      )
      throw ExitCode(1)
    }
    return GitRevision(directory: directory, paths: relative.map { directory + "/" + $0 })
  }

  private static func run(_ executable: String, _ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
  }
}

import Foundation

/// Reads manifest and key files with a size limit, and lists a directory's manifest files.
enum ManifestFileReader {
  /// Why a file could not be read.
  struct ReadError: Error, CustomStringConvertible {
    var description: String
    /// The file exists but is larger than the limit.
    var isTooLarge = false
  }

  /// `path` relative to the directory of `file` (absolute paths stay as they are).
  static func resolve(_ path: String, relativeTo file: String) -> String {
    if path.hasPrefix("/") { return path }
    let directory = (file as NSString).deletingLastPathComponent
    return directory.isEmpty ? path : (directory as NSString).appendingPathComponent(path)
  }

  static func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
  }

  /// The `*.yaml` and `*.yml` files directly inside `directory`, sorted by name (hidden files skipped).
  static func manifestFiles(in directory: String) throws(ReadError) -> [String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      throw ReadError(description: "cannot list directory '\(directory)'")
    }
    return names.filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasPrefix(".") }
      .sorted()
      .map { (directory as NSString).appendingPathComponent($0) }
      .filter { !isDirectory($0) }
  }

  /// The file's bytes; throws when it is missing, unreadable or larger than `limit` bytes.
  static func read(_ path: String, limit: Int) throws(ReadError) -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else {
      throw ReadError(description: "no such file")
    }
    guard !isDirectory(path) else { throw ReadError(description: "it is a directory") }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw ReadError(description: "permission denied")
    }
    defer { try? handle.close() }
    let data: Data?
    do {
      data = try handle.read(upToCount: limit + 1)
    } catch {
      throw ReadError(description: "\(error.localizedDescription.lowercased())")
    }
    let bytes = Array(data ?? Data())
    guard bytes.count <= limit else {
      throw ReadError(description: "it is larger than \(limit / (1 << 20)) MiB", isTooLarge: true)
    }
    return bytes
  }
}

import Foundation

/// Small file helpers for the command line.
enum FileIO {
  static func read(_ path: String) throws -> [UInt8] {
    if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// Writes a file readable by its owner only, replacing it atomically.
  static func write(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    try Data(bytes).write(to: url, options: .atomic)
    _ = chmod(path, 0o600)
  }
}

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Small file helpers for the command line.
enum FileIO {
  static func read(_ path: String) throws -> [UInt8] {
    if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// Writes a file readable by its owner only, replacing it atomically.
  static func write(_ bytes: [UInt8], to path: String) throws {
    try writeAtomically(bytes, to: path, mode: 0o600)
  }

  /// A file the command line could not write.
  struct WriteError: Error, CustomStringConvertible {
    var path: String
    var step: String
    var code: Int32
    var description: String { "cannot write '\(path)': \(step): \(String(cString: strerror(code)))" }
  }

  /// Replaces `path` atomically: a temporary file beside it is written, flushed to disk,
  /// given `mode`, then renamed over it, so a reader (node_exporter, CI) sees the old file
  /// or the new one, never half of one.
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    var template = Array((directory + "/." + url.lastPathComponent + ".XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw WriteError(path: path, step: "create a temporary file", code: errno) }
    let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var failure: WriteError?
    var offset = 0
    while offset < bytes.count, failure == nil {
      let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno != EINTR { failure = WriteError(path: path, step: "write", code: errno) }
      } else {
        offset += n
      }
    }
    if failure == nil, fchmod(fd, mode) != 0 { failure = WriteError(path: path, step: "chmod", code: errno) }
    if failure == nil, fsync(fd) != 0 { failure = WriteError(path: path, step: "fsync", code: errno) }
    close(fd)
    if failure == nil, rename(temporary, path) != 0 {
      failure = WriteError(path: path, step: "rename", code: errno)
    }
    if let failure {
      unlink(temporary)
      throw failure
    }
  }
}

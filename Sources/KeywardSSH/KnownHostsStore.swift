import AuthorizedKeys
import Foundation
import KeywardCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The known_hosts files of one run: each file is read and indexed once, on first use, and
/// shared by every worker; keys accepted during the run (accept-new) are appended to the file
/// and to the index, so a second connection to the same host sees them.
///
/// Reads never follow what a path looked like: the file is opened, then `fstat` checks that what
/// was opened is a regular file.
final class KnownHostsStore: Sendable {
  private struct State {
    var files: [String: KnownHostsFile] = [:]
    /// Lines appended during the run, by file: their bytes and their parsed index.
    var appended: [String: (bytes: [UInt8], file: KnownHostsFile)] = [:]
  }
  private let state = Mutex(State())
  /// Serializes appends (and their in-memory index update) across workers.
  private let appendLock = Mutex(())

  /// The known_hosts view for `files` (user files first, then global ones).
  func knownHosts(_ paths: [String]) -> KnownHosts {
    var files: [KnownHostsFile] = []
    for path in paths {
      files.append(file(path))
      if let extra = state.withLock({ $0.appended[path]?.file }) { files.append(extra) }
    }
    return KnownHosts(files: files)
  }

  private func file(_ path: String) -> KnownHostsFile {
    if let cached = state.withLock({ $0.files[path] }) { return cached }
    let parsed = KnownHostsFile(path: path, bytes: Self.read(path) ?? [])
    return state.withLock { state in
      if let raced = state.files[path] { return raced }
      state.files[path] = parsed
      return parsed
    }
  }

  /// The bytes of a regular file, or nil when it is missing or not a regular file.
  static func read(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(info.st_size) + 1)
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      bytes += buffer[0..<n]
    }
    return bytes
  }

  /// Appends `type blob` for `hostField` to `path` (creating it 0600, and its directory 0700,
  /// when missing) and adds it to this run's index. Never rewrites the file.
  func append(path: String, hostField: String, type: String, blob: [UInt8], host: String)
    throws(TransportError)
  {
    let line = "\(hostField) \(type) \(Data(blob).base64EncodedString())\n"
    let failure = appendLock.withLock { _ -> String? in
      let directory = (path as NSString).deletingLastPathComponent
      if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
        try? FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      }
      let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0o600)
      guard fd >= 0 else { return TCPConnector.errnoText() }
      defer { close(fd) }
      var info = stat()
      guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return "not a regular file" }
      let bytes = Array(line.utf8)
      let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      guard written == bytes.count else { return TCPConnector.errnoText() }
      _ = file(path)
      state.withLock { state in
        let text = (state.appended[path]?.bytes ?? []) + bytes
        state.appended[path] = (text, KnownHostsFile(path: path + " (appended by this run)", bytes: text))
      }
      return nil
    }
    if let failure {
      throw TransportError(
        code: .hostKeyUnknown, host: host, step: .hostkey,
        message: "could not append the new host key to '\(path)': \(failure)")
    }
  }
}

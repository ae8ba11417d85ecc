import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads the file a `file:` key source names, as untrusted public-key text.
///
/// - The path is relative to the manifest file's directory and must stay inside it (after
///   symlinks are resolved), unless it lies inside one of `allowedRoots`; absolute paths are
///   accepted only inside `allowedRoots`.
/// - Only a regular file is read: it is opened with `O_NONBLOCK | O_NOFOLLOW` and checked with
///   `fstat` on the open descriptor, so a FIFO, a device or a directory never blocks or is read.
/// - At most `maximumSize` bytes: a public key file is a few lines.
///
/// Errors never contain the file's bytes: callers report line numbers and reasons only.
struct KeyFileReader: Sendable {
  /// The largest key file read (64 KiB: hundreds of keys).
  static let maximumSize = 64 << 10

  /// Directories besides the manifest's own from which key files may be read.
  var allowedRoots: [String] = []

  struct ReadError: Error, CustomStringConvertible {
    var description: String
  }

  /// The path `path` names, relative to the directory of `manifest`.
  static func resolve(_ path: String, relativeTo manifest: String) -> String {
    ManifestFileReader.resolve(path, relativeTo: manifest)
  }

  /// The bytes of the key file `path` named in `manifest`.
  func read(_ path: String, manifest: String) throws(ReadError) -> [UInt8] {
    guard !path.isEmpty, !path.utf8.contains(0) else { throw ReadError(description: "the path is empty") }
    let resolved = Self.resolve(path, relativeTo: manifest)
    guard let real = Self.realPath(resolved) else {
      throw ReadError(description: "no such file")
    }
    let manifestDirectory = Self.realPath(Self.directory(of: manifest)) ?? Self.directory(of: manifest)
    let roots = [manifestDirectory] + allowedRoots.compactMap(Self.realPath)
    guard roots.contains(where: { Self.isInside(real, $0) }) else {
      throw ReadError(
        description:
          "it is outside the manifest's directory; keep key files next to the manifest,"
          + " or allow their directory with KEYWARD_KEY_FILE_ROOTS")
    }
    let fd = open(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
    guard fd >= 0 else {
      throw ReadError(description: errno == EACCES ? "permission denied" : "cannot open it (errno \(errno))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ReadError(description: "cannot examine it") }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw ReadError(description: "it is not a regular file")
    }
    var bytes = [UInt8](repeating: 0, count: Self.maximumSize + 1)
    var count = 0
    while count < bytes.count {
      let n = bytes.withUnsafeMutableBytes { buffer in
        posixRead(fd, buffer.baseAddress! + count, buffer.count - count)
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw ReadError(description: "cannot read it (errno \(errno))")
      }
      if n == 0 { break }
      count += n
    }
    guard count <= Self.maximumSize else {
      throw ReadError(
        description: "it is larger than \(Self.maximumSize >> 10) KiB; a public key file is a few lines")
    }
    return Array(bytes[0..<count])
  }

  static func directory(of file: String) -> String {
    let directory = (file as NSString).deletingLastPathComponent
    return directory.isEmpty ? "." : directory
  }

  static func isInside(_ path: String, _ root: String) -> Bool {
    root == "/" || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
  }

  /// The absolute path with every symlink resolved, or `nil` when it does not exist.
  static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}

/// `read(2)`, under a name the reader's own `read` does not shadow.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  read(fd, buffer, count)
}

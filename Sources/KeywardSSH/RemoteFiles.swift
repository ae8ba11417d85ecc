import Foundation
import KeywardCore
import SFTP

/// One user's files on one host, reached through an SFTP session that runs with that user's
/// own rights: an `sftp-server` started under `setpriv` as the user (when logged in as root),
/// or the `sftp` subsystem (when logged in as the user). Whatever a path or a planted symlink
/// points at, the kernel checks every operation against the user, never against root.
///
/// The file operations of the write path, in the shape `TargetOperations`, `RemoteLock` and
/// `RemoteBackups` use; `primitives` offers the same session as `FilePrimitives`.
final class RemoteFiles {
  let host: String
  /// The user whose rights the session has.
  let user: String
  let client: SFTPClient
  let primitives: SFTPFilePrimitives
  private let stream: SSHChannelStream

  /// The largest file read (the same limit on every transport).
  static let sizeLimit = 16 * 1024 * 1024

  /// Starts SFTP over `stream`; when the handshake fails, says what the helper wrote on stderr.
  init(host: String, user: String, stream: SSHChannelStream) throws(TransportError) {
    self.host = host
    self.user = user
    self.stream = stream
    do {
      client = try SFTPClient(stream: stream)
    } catch {
      stream.close()
      let stderr = stream.diagnostics
      throw TransportError(
        code: "sftp-failed", host: host, step: "connect",
        message:
          "could not start sftp as '\(user)': \(error.message)" + (stderr.isEmpty ? "" : " (\(stderr))"))
    }
    primitives = SFTPFilePrimitives(client: client)
  }

  func close() { client.close() }

  /// True while the session answers (one round trip).
  func isAlive() -> Bool { (try? client.realpath(".")) != nil }

  // MARK: operations

  /// `lstat` (or `stat` when `follow`); nil when the path does not exist.
  func attributes(_ path: String, follow: Bool, step: String) throws(TransportError) -> RemoteAttributes? {
    do {
      let attributes = follow ? try client.stat(path) : try client.lstat(path)
      return RemoteAttributes(
        permissions: attributes.permissions ?? 0, uid: attributes.uid ?? UInt32.max,
        gid: attributes.gid ?? UInt32.max, size: attributes.size ?? 0,
        modified: UInt64(attributes.modificationTime ?? 0))
    } catch  where error.status == .noSuchFile {
      return nil
    } catch {
      throw failure(error, "sftp-failed", step, "could not stat '\(path)'")
    }
  }

  /// Reads a whole regular file (following a final symlink); nil when it does not exist.
  /// Anything but a regular file is refused before it is opened (a FIFO would block the server).
  func read(_ path: String, step: String) throws(TransportError) -> [UInt8]? {
    guard let status = try attributes(path, follow: true, step: step) else { return nil }
    guard status.pathStatus.isRegularFile else {
      throw TransportError(
        code: "not-a-file", host: host, step: step, message: "'\(path)' is not a regular file")
    }
    do {
      return try client.readFile(path, limit: Self.sizeLimit)
    } catch  where error.status == .noSuchFile {
      return nil
    } catch  where error.kind == .tooLarge {
      throw TransportError(
        code: "read-failed", host: host, step: step, message: "'\(path)' is larger than 16 MiB")
    } catch {
      throw failure(error, "read-failed", step, "could not read '\(path)'")
    }
  }

  /// Creates a directory and sets its mode explicitly, whatever the server's umask.
  func makeDirectory(_ path: String, mode: UInt32) throws(TransportError) {
    do {
      try client.makeDirectory(path, attributes: SFTPAttributes(permissions: mode))
    } catch {
      throw failure(error, "write-failed", "write", "could not create the directory '\(path)'")
    }
    try setMode(path, mode: mode)
  }

  /// Sets the permission bits of `path` itself (never through a final symlink).
  func setMode(_ path: String, mode: UInt32) throws(TransportError) {
    do {
      try primitives.setAttributes(path, mode: mode, owner: nil)
    } catch {
      throw TransportError(
        code: "write-failed", host: host, step: "write",
        message: "could not set the mode of '\(path)' as '\(user)': \(error.detail)")
    }
  }

  /// Creates `path` exclusively, writes `content` (pipelined), sets the mode on the handle,
  /// fsyncs and closes it; a partial file is removed.
  func createExclusive(_ path: String, content: [UInt8], mode: UInt32, progress: ((Int) -> Void)? = nil)
    throws(TransportError)
  {
    let handle: SFTPHandle
    do {
      handle = try client.open(
        path, flags: [.write, .create, .exclusive], attributes: SFTPAttributes(permissions: 0o600))
    } catch {
      throw failure(error, "write-failed", "write", "could not create the temporary file '\(path)'")
    }
    do throws(SFTPError) {
      if let progress {
        // Chunk by chunk, so a test hook can interrupt the write at a given offset.
        var offset = 0
        while offset < content.count {
          let end = min(offset + client.chunkSize, content.count)
          try client.writeAll(handle, offset: UInt64(offset), data: Array(content[offset..<end]), path: path)
          offset = end
          progress(offset)
        }
      } else {
        try client.writeAll(handle, offset: 0, data: content, path: path)
      }
      try client.fsetstat(handle, attributes: SFTPAttributes(permissions: mode & 0o7777))
      if client.supports("fsync@openssh.com") { try client.fsync(handle) }
      try client.close(handle)
    } catch {
      if !error.isFatal {
        try? client.close(handle)
        try? client.remove(path)
      }
      throw failure(error, "write-failed", "write", "could not write '\(path)'")
    }
  }

  /// Removes a file; a missing file is not an error.
  func unlink(_ path: String) {
    try? client.remove(path)
  }

  /// Plain SFTP rename (fails when `to` exists).
  func plainRename(_ from: String, _ to: String) throws(TransportError) {
    do {
      try client.rename(from, to: to)
    } catch {
      throw failure(error, "rename-failed", "rename", "could not rename '\(from)' to '\(to)'")
    }
  }

  /// `rename(2)` replacing `to`; false when the server lacks posix-rename@openssh.com.
  func posixRename(_ from: String, _ to: String) throws(TransportError) -> Bool {
    guard client.supports("posix-rename@openssh.com") else { return false }
    do {
      try client.posixRename(from, to: to)
      return true
    } catch {
      throw failure(error, "rename-failed", "rename", "posix-rename of '\(from)' to '\(to)' failed")
    }
  }

  /// `link(2)`; false when the server lacks hardlink@openssh.com.
  func hardLink(_ from: String, _ to: String) throws(TransportError) -> Bool {
    guard client.supports("hardlink@openssh.com") else { return false }
    do {
      try client.hardlink(from, to: to)
      return true
    } catch {
      throw failure(error, "rename-failed", "rename", "hardlink of '\(from)' to '\(to)' failed")
    }
  }

  /// Flushes a directory's entries after a rename (best effort: needs fsync@openssh.com).
  func syncDirectory(_ path: String) {
    try? primitives.syncDirectory(path)
  }

  /// The entry names of a directory (without `.` and `..`).
  func listDirectory(_ path: String, step: String) throws(TransportError) -> [String] {
    do {
      return try client.listDirectory(path).map(\.filename).filter { $0 != "." && $0 != ".." }
    } catch {
      throw failure(error, "sftp-failed", step, "could not list '\(path)'")
    }
  }

  /// The canonical path (`.` is the session's working directory).
  func realpath(_ path: String, step: String) throws(TransportError) -> String {
    do {
      return try client.realpath(path)
    } catch {
      throw failure(error, "sftp-failed", step, "could not resolve '\(path)'")
    }
  }

  // MARK: errors

  /// A `TransportError` that says what failed, as whom, and why; permission errors say that
  /// keyward acts with the user's own rights (the reason a planted symlink gets nowhere).
  private func failure(_ error: SFTPError, _ code: String, _ step: String, _ what: String) -> TransportError {
    let reason: String
    switch error.kind {
    case .status(.permissionDenied):
      reason =
        "permission denied for '\(user)' (sftp status 3); keyward acts with the user's own rights, so this"
        + " path leads somewhere '\(user)' may not go (a symlink to another user's file?)"
    case .status(.noSuchFile): reason = "no such file (sftp status 2)"
    case .status(.failure): reason = "the server reported a failure (sftp status 4)"
    case .status(.operationUnsupported): reason = "operation not supported (sftp status 8)"
    case .status(let status): reason = "sftp status \(status.rawValue)"
    case .malformed, .stream, .timedOut, .tooLarge, .unsupported: reason = error.message
    }
    let kind = error.status == .permissionDenied ? "permission-denied" : code
    return TransportError(code: kind, host: host, step: step, message: "\(what): \(reason)")
  }
}

/// The file-system primitives keyward's one write path needs, supplied by each transport.
///
/// Every call acts with the privileges of the target user (an `sftp-server` started as that
/// user, the `sftp` subsystem when logged in as them, a privilege-dropped child locally), or
/// with root's privileges confined to a root directory (`--root DIR`). Paths are absolute, as
/// the host sees them. The safe-replace sequence (`SafeReplace`) and the fetch (`TargetReader`)
/// are written once over this protocol; transports supply primitives and nothing else.
///
/// Implementations are used from one thread at a time.
public protocol FilePrimitives: AnyObject {
  /// `lstat` (`follow: false`) or `stat`; nil when the path does not exist.
  func status(_ path: String, follow: Bool) throws(FileSystemError) -> FileStatus?
  /// `lstat` of each path, in order: its status (nil where it does not exist) or its own error;
  /// one round trip where the primitives can pipeline. Throws only when none could be asked.
  func statuses(_ paths: [String]) throws(FileSystemError) -> [Result<FileStatus?, FileSystemError>]
  /// Opens an existing file for reading; nil when it does not exist. Implementations that can
  /// refuse a final symlink atomically (`O_NOFOLLOW`) do so unless `follow`. Must not block on
  /// a FIFO or a device (`O_NONBLOCK`); callers check `status(of:)` before reading.
  func openForReading(_ path: String, follow: Bool) throws(FileSystemError) -> OpenFile?
  /// Creates a new file exclusively (`O_CREAT | O_EXCL`, never through a symlink) with `mode`.
  func createExclusive(_ path: String, mode: UInt32) throws(FileSystemError) -> OpenFile
  /// The status of what was opened (`fstat`), not of what the path names now.
  func status(of file: OpenFile) throws(FileSystemError) -> FileStatus
  /// Reads up to `count` bytes at `offset`; fewer (or none) at the end of the file.
  func read(_ file: OpenFile, offset: UInt64, count: Int) throws(FileSystemError) -> [UInt8]
  /// Writes all of `bytes` at `offset`.
  func write(_ file: OpenFile, offset: UInt64, bytes: [UInt8]) throws(FileSystemError)
  /// Flushes the file's data to stable storage.
  func sync(_ file: OpenFile) throws(FileSystemError)
  /// Sets the permission bits and/or owner of what was opened (`fchmod`/`fchown`).
  func setAttributes(of file: OpenFile, mode: UInt32?, owner: FileOwner?) throws(FileSystemError)
  /// Closes an open file; errors on close are ignored.
  func close(_ file: OpenFile)
  /// Renames `from` over `to` atomically, replacing it (`rename(2)`, `posix-rename@openssh.com`).
  func rename(_ from: String, to: String) throws(FileSystemError)
  /// Makes a hard link `to` naming the same file as `from` (never replaces `to`).
  func link(_ from: String, to: String) throws(FileSystemError)
  /// Removes a file (not a directory).
  func unlink(_ path: String) throws(FileSystemError)
  /// The names in a directory, without `.` and `..`.
  func list(_ directory: String) throws(FileSystemError) -> [String]
  /// Creates a directory with `mode` (never through a symlink).
  func makeDirectory(_ path: String, mode: UInt32) throws(FileSystemError)
  /// Removes an empty directory (`rmdir`): undoes a `makeDirectory` when a write fails.
  func removeDirectory(_ path: String) throws(FileSystemError)
  /// The canonical absolute path of an existing path, symlinks resolved (`realpath(3)`,
  /// `SSH_FXP_REALPATH`; under `--root`, resolved inside the root). Used only for `follow: true`.
  func resolve(_ path: String) throws(FileSystemError) -> String
  /// Sets the permission bits and/or owner of a path that the caller has just checked with
  /// `status(_:follow: false)` (SFTP has no `fchmod` for directories).
  func setAttributes(_ path: String, mode: UInt32?, owner: FileOwner?) throws(FileSystemError)
  /// Flushes a directory's entries (after a rename) to stable storage.
  func syncDirectory(_ path: String) throws(FileSystemError)
}

/// An open file of a `FilePrimitives` implementation (an fd, an SFTP handle), as a token.
public struct OpenFile: Hashable, Sendable {
  public var token: Int

  public init(token: Int) { self.token = token }
}

/// A numeric owner and group.
public struct FileOwner: Hashable, Sendable, Codable {
  public var uid: UInt32
  public var gid: UInt32

  public init(uid: UInt32, gid: UInt32) {
    self.uid = uid
    self.gid = gid
  }
}

/// What `lstat`/`stat`/`fstat` says about a file.
public struct FileStatus: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable, Codable {
    case regular, directory, symlink, other
  }

  public var kind: Kind
  /// Permission bits (`mode & 0o7777`).
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  public var size: UInt64
  /// Link count, when the implementation can tell (`nil` over SFTP v3).
  public var linkCount: UInt64?
  /// Modification time, seconds since the epoch (SFTP v3 `mtime`); a lock's age is judged by it.
  public var modified: Int64

  public init(
    kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32, size: UInt64 = 0, linkCount: UInt64? = nil,
    modified: Int64 = 0
  ) {
    self.kind = kind
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.size = size
    self.linkCount = linkCount
    self.modified = modified
  }
}

/// A primitive failed. `kind` says what kind of failure it was, so the sequence can decide
/// (a missing file is not an error while looking, a lost connection fails the whole host).
public struct FileSystemError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Kind: String, Hashable, Sendable {
    /// ENOENT / SSH_FX_NO_SUCH_FILE.
    case notFound
    /// EEXIST (SFTP v3 reports it as a generic failure; implementations that can tell, do).
    case exists
    /// EACCES / EPERM / SSH_FX_PERMISSION_DENIED: the acting user may not do this.
    case permissionDenied
    /// The path names a symlink where none may be (`O_NOFOLLOW`, `RESOLVE_NO_SYMLINKS`).
    case symlink
    /// The path leaves the confinement root (`RESOLVE_IN_ROOT`, `..`).
    case escapesRoot
    /// The operation is not supported (a missing SFTP extension).
    case unsupported
    /// The connection or the helper process is gone; nothing more can be done on this host.
    case connectionLost
    /// An operation deadline passed.
    case timedOut
    /// Anything else (ENOSPC, EIO, a generic SFTP failure).
    case failed
  }

  public var kind: Kind
  /// The primitive that failed (`open`, `rename`, ...).
  public var operation: String
  public var path: String
  /// The system's or the server's own words.
  public var detail: String

  public init(_ kind: Kind, operation: String, path: String, detail: String) {
    self.kind = kind
    self.operation = operation
    self.path = path
    self.detail = detail
  }

  public var description: String { "\(operation) '\(path)': \(detail)" }
}

extension FilePrimitives {
  /// One `status(_:follow: false)` after another.
  public func statuses(_ paths: [String]) throws(FileSystemError) -> [Result<FileStatus?, FileSystemError>] {
    paths.map { path in
      do throws(FileSystemError) {
        return .success(try status(path, follow: false))
      } catch {
        return .failure(error)
      }
    }
  }
}

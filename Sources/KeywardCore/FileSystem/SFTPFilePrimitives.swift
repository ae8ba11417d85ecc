public import SFTP

/// `FilePrimitives` over an SFTP session: every call runs with the privileges of whoever the
/// `sftp-server` at the other end runs as (the target user, when keyward starts it under
/// `setpriv` or logs in as that user).
///
/// What SFTP v3 cannot do, and what is done instead:
/// - `O_NOFOLLOW`, `O_NONBLOCK`: `openForReading` checks the path first and opens only a
///   regular file; the server's own privileges are the real guarantee, and callers check the
///   opened handle with `status(of:)`.
/// - EEXIST: reported as a generic failure; after a failed exclusive create an `lstat` tells
///   `exists` apart from other failures.
/// - Directory fsync: `SSH_FXP_OPEN` of a directory read-only gives a file handle (sftp-server
///   calls `open(2)`, which allows `O_RDONLY` on a directory), and `fsync@openssh.com` works on
///   it. A server without `fsync@openssh.com` makes `sync`/`syncDirectory` fail `unsupported`.
/// - Link counts: SFTP v3 attributes have none (`linkCount` is nil).
public final class SFTPFilePrimitives: FilePrimitives {
  /// The session; owned by this object from here on.
  public let client: SFTPClient
  /// Open files by token, with the size each had at its last `status(of:)` (reads split their
  /// requests there).
  private var handles: [Int: (handle: SFTPHandle, path: String, size: UInt64?)] = [:]
  private var nextToken = 1

  public init(client: SFTPClient) {
    self.client = client
  }

  deinit { client.close() }

  /// Starts a local `sftp-server` (or a command that becomes one, such as `setpriv ... --
  /// sftp-server`) by argv and opens a session with it. When the handshake fails, the error
  /// carries what the command wrote to stderr (`No user found for uid 64123`).
  public static func start(arguments: [String], timeout: Duration = .seconds(30)) throws(FileSystemError)
    -> SFTPFilePrimitives
  {
    let command = arguments.first ?? ""
    let stream: ProcessStream
    do {
      stream = try ProcessStream(arguments: arguments, timeout: timeout)
    } catch {
      throw FileSystemError(.connectionLost, operation: "start", path: command, detail: error.message)
    }
    do {
      return SFTPFilePrimitives(client: try SFTPClient(stream: stream))
    } catch {
      stream.close()
      let stderr = stream.diagnostics
      throw FileSystemError(
        error.kind == .timedOut ? .timedOut : .connectionLost, operation: "start", path: command,
        detail: error.message + (stderr.isEmpty ? "" : ": \(stderr)"))
    }
  }

  public func status(_ path: String, follow: Bool) throws(FileSystemError) -> FileStatus? {
    let attributes: SFTPAttributes
    do {
      attributes = follow ? try client.stat(path) : try client.lstat(path)
    } catch  where error.status == .noSuchFile {
      return nil
    } catch {
      throw Self.translate(error, follow ? "stat" : "lstat", path)
    }
    return try Self.fileStatus(attributes, operation: follow ? "stat" : "lstat", path: path)
  }

  /// Every `lstat` in one round trip.
  public func statuses(_ paths: [String]) throws(FileSystemError) -> [Result<FileStatus?, FileSystemError>] {
    let results: [Result<SFTPAttributes, SFTPError>]
    do {
      results = try client.lstat(paths)
    } catch {
      throw Self.translate(error, "lstat", paths.first ?? "")
    }
    return zip(paths, results).map { path, result in
      switch result {
      case .success(let attributes):
        do throws(FileSystemError) {
          return .success(try Self.fileStatus(attributes, operation: "lstat", path: path))
        } catch {
          return .failure(error)
        }
      case .failure(let error) where error.status == .noSuchFile: return .success(nil)
      case .failure(let error): return .failure(Self.translate(error, "lstat", path))
      }
    }
  }

  /// SFTP v3 opens without `O_NONBLOCK` or `O_NOFOLLOW`, and a FIFO would block the server: the
  /// path is checked first (`lstat`, or `stat` with `follow`) and anything but a regular file is
  /// refused before it is opened. A swap between the check and the open can only make the
  /// user's own server block until the stream's deadline; callers check the handle with
  /// `status(of:)`.
  public func openForReading(_ path: String, follow: Bool) throws(FileSystemError) -> OpenFile? {
    guard let status = try status(path, follow: follow) else { return nil }
    switch status.kind {
    case .regular: break
    case .symlink:
      throw FileSystemError(.symlink, operation: "open", path: path, detail: "it is a symbolic link")
    case .directory, .other:
      throw FileSystemError(.failed, operation: "open", path: path, detail: "it is not a regular file")
    }
    do {
      return register(try client.open(path, flags: .read), path: path)
    } catch  where error.status == .noSuchFile {
      return nil
    } catch {
      throw Self.translate(error, "open", path)
    }
  }

  public func createExclusive(_ path: String, mode: UInt32) throws(FileSystemError) -> OpenFile {
    do {
      let handle = try client.open(
        path, flags: [.write, .create, .exclusive], attributes: SFTPAttributes(permissions: mode & 0o7777))
      return register(handle, path: path)
    } catch {
      // SFTP v3 reports EEXIST as a plain failure: look to tell it apart.
      if error.status == .failure, (try? client.lstat(path)) != nil {
        throw FileSystemError(.exists, operation: "create", path: path, detail: "it already exists")
      }
      throw Self.translate(error, "create", path)
    }
  }

  public func status(of file: OpenFile) throws(FileSystemError) -> FileStatus {
    let (handle, path) = try self.handle(file, "fstat")
    let attributes: SFTPAttributes
    do {
      attributes = try client.fstat(handle)
    } catch {
      throw Self.translate(error, "fstat", path)
    }
    handles[file.token]?.size = attributes.size
    return try Self.fileStatus(attributes, operation: "fstat", path: path)
  }

  public func read(_ file: OpenFile, offset: UInt64, count: Int) throws(FileSystemError) -> [UInt8] {
    let (handle, path) = try self.handle(file, "read")
    do {
      return try client.read(
        handle, offset: offset, count: count, path: path, expectedEnd: handles[file.token]?.size)
    } catch {
      throw Self.translate(error, "read", path)
    }
  }

  public func write(_ file: OpenFile, offset: UInt64, bytes: [UInt8]) throws(FileSystemError) {
    let (handle, path) = try self.handle(file, "write")
    do {
      try client.writeAll(handle, offset: offset, data: bytes)
    } catch {
      throw Self.translate(error, "write", path)
    }
  }

  public func sync(_ file: OpenFile) throws(FileSystemError) {
    let (handle, path) = try self.handle(file, "fsync")
    do {
      try client.fsync(handle)
    } catch {
      throw Self.translate(error, "fsync", path)
    }
  }

  public func setAttributes(of file: OpenFile, mode: UInt32?, owner: FileOwner?) throws(FileSystemError) {
    let (handle, path) = try self.handle(file, "fsetstat")
    do {
      try client.fsetstat(handle, attributes: Self.attributes(mode: mode, owner: owner))
    } catch {
      throw Self.translate(error, "fsetstat", path)
    }
  }

  public func close(_ file: OpenFile) {
    guard let entry = handles.removeValue(forKey: file.token) else { return }
    try? client.close(entry.handle)
  }

  public func rename(_ from: String, to: String) throws(FileSystemError) {
    do {
      try client.posixRename(from, to: to)
    } catch {
      throw Self.translate(error, "rename", from)
    }
  }

  public func link(_ from: String, to: String) throws(FileSystemError) {
    do {
      try client.hardlink(from, to: to)
    } catch {
      if error.status == .failure, (try? client.lstat(to)) != nil {
        throw FileSystemError(.exists, operation: "link", path: to, detail: "it already exists")
      }
      throw Self.translate(error, "link", to)
    }
  }

  public func unlink(_ path: String) throws(FileSystemError) {
    do {
      try client.remove(path)
    } catch {
      throw Self.translate(error, "unlink", path)
    }
  }

  public func list(_ directory: String) throws(FileSystemError) -> [String] {
    do {
      return try client.listDirectory(directory).map(\.filename).filter { $0 != "." && $0 != ".." }.sorted()
    } catch {
      throw Self.translate(error, "list", directory)
    }
  }

  public func makeDirectory(_ path: String, mode: UInt32) throws(FileSystemError) {
    do {
      try client.makeDirectory(path, attributes: SFTPAttributes(permissions: mode & 0o7777))
    } catch {
      if error.status == .failure, (try? client.lstat(path)) != nil {
        throw FileSystemError(.exists, operation: "mkdir", path: path, detail: "it already exists")
      }
      throw Self.translate(error, "mkdir", path)
    }
  }

  public func removeDirectory(_ path: String) throws(FileSystemError) {
    do {
      try client.removeDirectory(path)
    } catch {
      throw Self.translate(error, "rmdir", path)
    }
  }

  public func resolve(_ path: String) throws(FileSystemError) -> String {
    do {
      return try client.realpath(path)
    } catch {
      throw Self.translate(error, "realpath", path)
    }
  }

  /// Uses `lsetstat@openssh.com` (never follows a final symlink) when the server offers it,
  /// `setstat` otherwise.
  public func setAttributes(_ path: String, mode: UInt32?, owner: FileOwner?) throws(FileSystemError) {
    let attributes = Self.attributes(mode: mode, owner: owner)
    do {
      if client.supports("lsetstat@openssh.com") {
        try client.lsetstat(path, attributes: attributes)
      } else {
        try client.setstat(path, attributes: attributes)
      }
    } catch {
      throw Self.translate(error, "setstat", path)
    }
  }

  public func syncDirectory(_ path: String) throws(FileSystemError) {
    do {
      let handle = try client.open(path, flags: .read)
      defer { try? client.close(handle) }
      try client.fsync(handle)
    } catch {
      throw Self.translate(error, "fsync", path)
    }
  }

  // MARK: Plumbing

  private func register(_ handle: SFTPHandle, path: String) -> OpenFile {
    let token = nextToken
    nextToken += 1
    handles[token] = (handle, path, nil)
    return OpenFile(token: token)
  }

  private func handle(_ file: OpenFile, _ operation: String) throws(FileSystemError) -> (SFTPHandle, String) {
    guard let entry = handles[file.token] else {
      throw FileSystemError(.failed, operation: operation, path: "open file", detail: "the file is not open")
    }
    return (entry.handle, entry.path)
  }

  static func attributes(mode: UInt32?, owner: FileOwner?) -> SFTPAttributes {
    SFTPAttributes(uid: owner?.uid, gid: owner?.gid, permissions: mode.map { $0 & 0o7777 })
  }

  static func fileStatus(_ attributes: SFTPAttributes, operation: String, path: String)
    throws(FileSystemError)
    -> FileStatus
  {
    guard let permissions = attributes.permissions, let uid = attributes.uid, let gid = attributes.gid else {
      throw FileSystemError(
        .failed, operation: operation, path: path, detail: "the sftp server did not report the mode and owner"
      )
    }
    let kind: FileStatus.Kind =
      switch attributes.fileType {
      case .regular: .regular
      case .directory: .directory
      case .symlink: .symlink
      default: .other
      }
    return FileStatus(
      kind: kind, mode: permissions & 0o7777, uid: uid, gid: gid, size: attributes.size ?? 0, linkCount: nil,
      modified: Int64(attributes.modificationTime ?? 0))
  }

  /// The `FileSystemError` kind for an SFTP failure.
  static func translate(_ error: SFTPError, _ operation: String, _ path: String) -> FileSystemError {
    let kind: FileSystemError.Kind =
      switch error.kind {
      case .status(.noSuchFile): .notFound
      case .status(.permissionDenied): .permissionDenied
      case .status(.operationUnsupported), .unsupported: .unsupported
      case .status(.noConnection), .status(.connectionLost), .stream, .malformed: .connectionLost
      case .timedOut: .timedOut
      case .status, .tooLarge: .failed
      }
    return FileSystemError(kind, operation: operation, path: path, detail: detail(error, operation))
  }

  /// The reason in words: the status (SFTP v3 has no EEXIST/ENOSPC/EROFS, so a generic failure
  /// while writing gets the likely cause), with the server's own words when they add something.
  static func detail(_ error: SFTPError, _ operation: String) -> String {
    guard case .status(let status) = error.kind else { return error.message }
    var text = "\(status) (sftp status \(status.rawValue))"
    if status == .failure && ["create", "write", "fsync", "fsetstat", "close", "mkdir"].contains(operation) {
      text += "; the remote file system may be full or read-only (check 'df' on the host)"
    }
    if let range = error.message.range(of: "(server: "), !error.message[range.upperBound...].isEmpty {
      let said = error.message[range.upperBound...].dropLast()
      if !said.isEmpty { text += ", the server said \(said)" }
    }
    return text
  }
}

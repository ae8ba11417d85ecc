import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Targets on this machine's file system (pull mode), or under a root directory
/// (`--root DIR`: `DIR/etc/passwd`, `DIR/home/...`) for images and tests.
///
/// Writes are atomic: a temp file created exclusively in the same directory, mode set,
/// owner set to the target user when running as root, fsync, a compare-and-swap re-read
/// under an exclusive lock on the directory, rename over the old file, fsync of the
/// directory, then a read-back. Symlinked files and `~/.ssh` are refused unless followed.
public struct LocalTransport: Transport {
  /// Where a write may be stopped on purpose, to prove that an interrupted write loses nothing.
  public enum FaultPoint: String, Sendable {
    /// Exit the process after the temp file is complete, before the rename.
    case beforeRename = "before-rename"
  }

  /// The root directory (`/` for the real system).
  public var root: String
  /// The host name targets must have to be handled here.
  public var host: String
  public var faultPoint: FaultPoint?

  public init(root: String = "/", host: String, faultPoint: FaultPoint? = nil) {
    self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    self.host = host
    self.faultPoint = faultPoint
  }

  static let tempPrefix = ".keyward-tmp."

  // MARK: - Paths

  struct Paths {
    var entry: PasswdEntry
    /// Paths on this machine (under `root`).
    var home: String
    var file: String
    var directory: String
    /// The file's path as the host sees it (without `root`), for messages.
    var displayFile: String
  }

  private func error(_ id: TargetID, _ step: String, _ code: String, _ message: String) -> TransportError {
    TransportError(code: code, host: id.host, step: step, message: message)
  }

  func lookup(_ id: TargetID) -> Result<Paths, TransportError> {
    let entry: PasswdEntry?
    if root == "/" {
      entry = PasswdEntry.system(id.user)
    } else {
      guard let text = try? String(contentsOfFile: root + "/etc/passwd", encoding: .utf8) else {
        return .failure(
          error(
            id, "passwd", "passwd-unreadable",
            "cannot read '\(root)/etc/passwd'; is '\(root)' a root file system?"))
      }
      entry = PasswdEntry.parse(text)[id.user]
    }
    guard let entry else {
      return .failure(error(id, "passwd", "no-such-user", "user '\(id.user)' does not exist on this host"))
    }
    let hostPath = id.absolutePath(home: entry.home)
    // No '.' or '..' in the expanded path, before any I/O (the home is checked by the planner).
    if let problem = PathConfinement.problem(
      inAbsolutePath: hostPath, home: entry.home, allowOutsideHome: true)
    {
      return .failure(error(id, "passwd", "path-refused", problem))
    }
    let prefix = root == "/" ? "" : root
    let file = prefix + hostPath
    let directory = (file as NSString).deletingLastPathComponent
    return .success(
      Paths(entry: entry, home: prefix + entry.home, file: file, directory: directory, displayFile: hostPath))
  }

  static func status(_ path: String, follow: Bool = false) -> PathStatus? {
    var st = stat()
    let rc = follow ? stat(path, &st) : lstat(path, &st)
    guard rc == 0 else { return nil }
    let type = st.st_mode & S_IFMT
    return PathStatus(
      isSymlink: type == S_IFLNK, isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG,
      mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid)
  }

  /// Reads a whole file without following a final symlink (unless `follow`); nil when absent.
  static func read(_ path: String, follow: Bool) throws(Errno) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW))
    if fd < 0 {
      if errno == ENOENT { return nil }
      throw Errno.current
    }
    defer { close(fd) }
    return try readAll(fd)
  }

  static func readAll(_ fd: Int32) throws(Errno) -> [UInt8] {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw Errno.current }
    guard st.st_mode & S_IFMT == S_IFREG else { throw Errno(code: EINVAL) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(st.st_size))
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw Errno.current
      }
      if n == 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
  }

  // MARK: - Fetch

  public func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
    var results: [TargetID: Result<ObservedTarget, TransportError>] = [:]
    for request in targets {
      results[request.id] = fetchOne(request)
    }
    return results
  }

  func fetchOne(_ request: FetchRequest) -> Result<ObservedTarget, TransportError> {
    let id = request.id
    let paths: Paths
    switch lookup(id) {
    case .success(let p): paths = p
    case .failure(let e): return .failure(e)
    }
    let directory = Self.status(paths.directory)
    let file = Self.status(paths.file)
    var content: [UInt8]?
    let symlinked = (directory?.isSymlink ?? false) || (file?.isSymlink ?? false)
    if !symlinked || request.follow {
      do {
        content = try Self.read(paths.file, follow: request.follow)
      } catch {
        return .failure(
          self.error(id, "read", "read-failed", "cannot read '\(paths.displayFile)': \(error)"))
      }
    }
    var backup: Backup?
    if request.includeBackup, !symlinked || request.follow {
      let fileName = (paths.file as NSString).lastPathComponent
      let names = (try? FileManager.default.contentsOfDirectory(atPath: paths.directory)) ?? []
      if let newest = Backup.backups(of: fileName, in: names).last {
        do {
          if let bytes = try Self.read(paths.directory + "/" + newest, follow: false) {
            backup = Backup(name: newest, content: bytes)
          }
        } catch {
          return .failure(self.error(id, "read", "read-failed", "cannot read backup '\(newest)': \(error)"))
        }
      }
    }
    return .success(
      ObservedTarget(
        id: id, content: content, absolutePath: paths.displayFile, home: paths.entry.home,
        uid: paths.entry.uid, gid: paths.entry.gid, file: file, directory: directory,
        homeStatus: Self.status(paths.home), latestBackup: backup))
  }

  // MARK: - Write

  public func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    var outcomes: [TargetID: WriteOutcome] = [:]
    for request in requests {
      outcomes[request.id] = writeOne(request)
    }
    return outcomes
  }

  func writeOne(_ request: WriteRequest) -> WriteOutcome {
    let id = request.id
    var paths: Paths
    switch lookup(id) {
    case .success(let p): paths = p
    case .failure(let e): return .failed(e)
    }
    func fail(_ step: String, _ code: String, _ message: String) -> WriteOutcome {
      .failed(error(id, step, code, message))
    }
    let asRoot = geteuid() == 0
    guard Self.status(paths.home, follow: true)?.isDirectory == true else {
      return fail("mkdir", "no-home", "home directory '\(paths.entry.home)' of '\(id.user)' does not exist")
    }
    // The directory.
    if let dir = Self.status(paths.directory) {
      if dir.isSymlink {
        guard request.follow, let real = realpath(paths.directory, nil) else {
          return fail(
            "mkdir", "symlink-refused",
            "'\((paths.displayFile as NSString).deletingLastPathComponent)' is a symlink; refusing to write through it"
          )
        }
        paths.directory = String(cString: real)
        free(real)
        paths.file = paths.directory + "/" + (paths.file as NSString).lastPathComponent
      }
      if let mode = request.directoryMode, dir.mode != mode, chmod(paths.directory, mode_t(mode)) != 0 {
        return fail(
          "chmod", "chmod-failed",
          "cannot set mode of '\(paths.directory)': \(String(cString: strerror(errno)))")
      }
    } else {
      if mkdir(paths.directory, mode_t(request.directoryMode ?? 0o700)) != 0 && errno != EEXIST {
        return fail(
          "mkdir", "mkdir-failed", "cannot create '\(paths.directory)': \(String(cString: strerror(errno)))")
      }
      _ = chmod(paths.directory, mode_t(request.directoryMode ?? 0o700))
      if asRoot { _ = chown(paths.directory, paths.entry.uid, paths.entry.gid) }
    }
    let dirfd = open(paths.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
    guard dirfd >= 0 else {
      return fail(
        "open", "open-failed", "cannot open '\(paths.directory)': \(String(cString: strerror(errno)))")
    }
    defer { close(dirfd) }
    // One keyward at a time per directory: the lock is released when dirfd closes.
    guard flock(dirfd, LOCK_EX) == 0 else {
      return fail(
        "lock", "lock-failed", "cannot lock '\(paths.directory)': \(String(cString: strerror(errno)))")
    }
    var name = (paths.file as NSString).lastPathComponent
    if request.follow, let fileStatus = Self.status(paths.file), fileStatus.isSymlink {
      guard let real = realpath(paths.file, nil) else {
        return fail("open", "symlink-dangling", "'\(paths.displayFile)' is a dangling symlink")
      }
      let target = String(cString: real)
      free(real)
      return writeOne(
        WriteRequest(
          id: id, expectedDigest: request.expectedDigest, content: request.content,
          fileMode: request.fileMode,
          directoryMode: nil, follow: false),
        absolute: target, entry: paths.entry, asRoot: asRoot)
    }
    if Self.status(paths.file)?.isSymlink == true {
      return fail(
        "open", "symlink-refused", "'\(paths.displayFile)' is a symlink; refusing to write through it")
    }
    name = (paths.file as NSString).lastPathComponent
    return replace(
      in: dirfd, name: name, request: request, entry: paths.entry, asRoot: asRoot, display: paths.displayFile)
  }

  /// Writes a followed symlink's target (an absolute path) the same way.
  private func writeOne(_ request: WriteRequest, absolute: String, entry: PasswdEntry, asRoot: Bool)
    -> WriteOutcome
  {
    let directory = (absolute as NSString).deletingLastPathComponent
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dirfd >= 0 else {
      return .failed(
        error(
          request.id, "open", "open-failed", "cannot open '\(directory)': \(String(cString: strerror(errno)))"
        ))
    }
    defer { close(dirfd) }
    guard flock(dirfd, LOCK_EX) == 0 else {
      return .failed(error(request.id, "lock", "lock-failed", "cannot lock '\(directory)'"))
    }
    return replace(
      in: dirfd, name: (absolute as NSString).lastPathComponent, request: request, entry: entry,
      asRoot: asRoot,
      display: absolute)
  }

  /// Temp file, fsync, compare-and-swap, rename, fsync the directory, read back. Holds the lock.
  private func replace(
    in dirfd: Int32, name: String, request: WriteRequest, entry: PasswdEntry, asRoot: Bool, display: String
  ) -> WriteOutcome {
    let id = request.id
    func fail(_ step: String, _ code: String, _ message: String) -> WriteOutcome {
      .failed(error(id, step, code, message))
    }
    removeLeftovers(in: dirfd, name: name)
    let temp = Self.tempPrefix + name + "." + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    let fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      return fail(
        "write", "temp-failed",
        "cannot create a temp file beside '\(display)': \(String(cString: strerror(errno)))")
    }
    var closed = false
    defer { if !closed { close(fd) } }
    func abandon(_ step: String, _ code: String, _ message: String) -> WriteOutcome {
      unlinkat(dirfd, temp, 0)
      return fail(step, code, message)
    }
    var offset = 0
    while offset < request.content.count {
      let n = request.content.withUnsafeBytes { buf in
        Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
      }
      if n < 0 {
        if errno == EINTR { continue }
        return abandon(
          "write", "write-failed", "cannot write beside '\(display)': \(String(cString: strerror(errno)))")
      }
      offset += n
    }
    guard fchmod(fd, mode_t(request.fileMode)) == 0 else {
      return abandon(
        "write", "chmod-failed", "cannot set the mode of the new file: \(String(cString: strerror(errno)))")
    }
    if asRoot && fchown(fd, entry.uid, entry.gid) != 0 {
      return abandon(
        "write", "chown-failed",
        "cannot give the new file to '\(entry.name)': \(String(cString: strerror(errno)))")
    }
    guard fsync(fd) == 0 else {
      return abandon(
        "write", "fsync-failed", "cannot fsync the new file: \(String(cString: strerror(errno)))")
    }
    close(fd)
    closed = true
    if faultPoint == .beforeRename { _exit(70) }
    // Compare-and-swap: the file must still be what the plan saw.
    let current: [UInt8]?
    do {
      current = try Self.readAt(dirfd, name)
    } catch {
      return abandon("compare", "read-failed", "cannot re-read '\(display)': \(error)")
    }
    let currentDigest = ContentDigest.of(current)
    guard currentDigest == request.expectedDigest else {
      unlinkat(dirfd, temp, 0)
      return .stale(currentDigest: currentDigest)
    }
    if current != nil && request.backupLimit > 0 {
      keepBackup(in: dirfd, name: name, limit: request.backupLimit)
    }
    guard renameat(dirfd, temp, dirfd, name) == 0 else {
      return abandon(
        "rename", "rename-failed", "cannot rename over '\(display)': \(String(cString: strerror(errno)))")
    }
    _ = fsync(dirfd)
    let written: [UInt8]?
    do {
      written = try Self.readAt(dirfd, name)
    } catch {
      return fail("verify", "verify-failed", "cannot read back '\(display)': \(error)")
    }
    let digest = ContentDigest.of(written)
    guard digest == ContentDigest.of(request.content) else {
      return fail(
        "verify", "verify-mismatch", "'\(display)' does not hold what was written (digest \(digest))")
    }
    return .written(digest: digest)
  }

  static func readAt(_ dirfd: Int32, _ name: String) throws(Errno) -> [UInt8]? {
    let fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
    if fd < 0 {
      if errno == ENOENT { return nil }
      throw Errno.current
    }
    defer { close(fd) }
    return try readAll(fd)
  }

  /// Removes temp files an interrupted earlier run left beside `name` (we hold the lock).
  private func removeLeftovers(in dirfd: Int32, name: String) {
    for entryName in Self.names(in: dirfd) where entryName.hasPrefix(Self.tempPrefix + name + ".") {
      unlinkat(dirfd, entryName, 0)
    }
  }

  /// Keeps the current file as a backup (a hard link: the old inode stays reachable after the
  /// rename), then prunes the oldest backups beyond `limit`. Best effort: a backup that cannot
  /// be made never blocks the write.
  private func keepBackup(in dirfd: Int32, name: String, limit: Int) {
    let base = Backup.name(for: name, at: Int(time(nil)))
    var backup = base
    var n = 1
    while linkat(dirfd, name, dirfd, backup, 0) != 0 {
      guard errno == EEXIST, n < 100 else { return }
      backup = base + ".\(n)"
      n += 1
    }
    let all = Backup.backups(of: name, in: Self.names(in: dirfd))
    for old in all.dropLast(limit) { unlinkat(dirfd, old, 0) }
  }

  /// The entry names of a directory.
  static func names(in dirfd: Int32) -> [String] {
    let dupfd = dup(dirfd)
    guard dupfd >= 0, let dir = fdopendir(dupfd) else { return [] }
    defer { closedir(dir) }
    rewinddir(dir)
    var names: [String] = []
    while let entry = readdir(dir) {
      names.append(
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        })
    }
    return names
  }
}

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// POSIX primitives confined to a root directory (`--root DIR`, image baking; `/` for this
/// machine): every path is resolved inside the root with no escape and, unless a call says it
/// may follow, through no symlink at all.
///
/// Paths are resolved with `openat2(2)` (`RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS`), called as syscall 437 since Glibc has no wrapper; where the kernel
/// lacks it (before Linux 5.6, or a seccomp filter refuses it), by a walk of the components,
/// each opened with `O_NOFOLLOW | O_DIRECTORY` relative to the last and checked with `fstat`.
/// The last component is always reached with an `*at` call on the opened parent (`O_NOFOLLOW`,
/// `AT_SYMLINK_NOFOLLOW`), and what was opened is checked with `fstat`.
///
/// The primitives act with this process's own rights: root confined to the root when run as
/// root, else the invoking user (and the kernel's permission checks).
public final class RootedFilePrimitives: FilePrimitives {
  /// The root directory, as given.
  public let root: String
  private let rootFD: Int32
  /// Whether `openat2` works here (else the component walk is used).
  public private(set) var usesOpenat2: Bool

  /// Opens the root; `forceWalk` uses the component walk even where `openat2` works (tests).
  public init(root: String, forceWalk: Bool = false) throws(FileSystemError) {
    self.root = root
    let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw Self.failure("open", root) }
    rootFD = fd
    usesOpenat2 = false
    if !forceWalk {
      let probe = Self.openat2(fd, ".", flags: Self.O_PATH | O_CLOEXEC, resolve: Self.confined)
      if probe >= 0 {
        Glibc.close(probe)
        usesOpenat2 = true
      }
    }
  }

  deinit { Glibc.close(rootFD) }

  // MARK: openat2

  private struct OpenHow {
    var flags: UInt64
    var mode: UInt64
    var resolve: UInt64
  }

  /// `O_PATH` (Linux; Glibc hides it behind `_GNU_SOURCE`).
  static let O_PATH: Int32 = 0o10_000_000
  static let resolveNoMagiclinks: UInt64 = 0x02
  static let resolveNoSymlinks: UInt64 = 0x04
  static let resolveInRoot: UInt64 = 0x10
  static let confined = resolveInRoot | resolveNoSymlinks | resolveNoMagiclinks

  private typealias Syscall = @convention(c) (Int, Int32, UnsafePointer<CChar>, UnsafeRawPointer, Int) -> Int

  /// `syscall(2)` is variadic, which Swift cannot call; on Linux it is a plain register shuffle,
  /// so a fixed prototype for the five arguments of openat2 calls it correctly.
  private static let syscallFunction: Syscall? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "syscall") else { return nil }
    return unsafeBitCast(symbol, to: Syscall.self)
  }()

  static func openat2(_ dirfd: Int32, _ path: String, flags: Int32, mode: UInt32 = 0, resolve: UInt64)
    -> Int32
  {
    guard let call = syscallFunction else {
      errno = ENOSYS
      return -1
    }
    var how = OpenHow(flags: UInt64(UInt32(bitPattern: flags)), mode: UInt64(mode), resolve: resolve)
    let result = path.withCString { name in
      withUnsafePointer(to: &how) { call(437, dirfd, name, UnsafeRawPointer($0), MemoryLayout<OpenHow>.size) }
    }
    return Int32(truncatingIfNeeded: result)
  }

  // MARK: resolution

  static func failure(_ operation: String, _ path: String, _ code: Int32 = errno) -> FileSystemError {
    let kind: FileSystemError.Kind =
      switch code {
      case ENOENT, ENOTDIR: .notFound
      case EEXIST: .exists
      case EACCES, EPERM: .permissionDenied
      case ELOOP: .symlink
      case EXDEV: .escapesRoot
      case ENOSYS, EOPNOTSUPP: .unsupported
      default: .failed
      }
    return FileSystemError(kind, operation: operation, path: path, detail: String(cString: strerror(code)))
  }

  /// The components of an absolute path; `..` is refused (`escapesRoot`).
  private func components(_ path: String, _ operation: String) throws(FileSystemError) -> [String] {
    let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter {
      $0 != "."
    }
    guard path.hasPrefix("/"), !parts.contains("..") else {
      throw FileSystemError(
        .escapesRoot, operation: operation, path: path, detail: "not a plain absolute path")
    }
    return parts
  }

  /// Opens a directory inside the root through no symlink.
  private func openDirectory(_ parts: ArraySlice<String>, flags: Int32, _ operation: String, _ path: String)
    throws(FileSystemError) -> Int32
  {
    let relative = parts.isEmpty ? "." : parts.joined(separator: "/")
    if usesOpenat2 {
      let fd = Self.openat2(rootFD, relative, flags: flags | O_DIRECTORY | O_CLOEXEC, resolve: Self.confined)
      guard fd >= 0 else { throw Self.failure(operation, path) }
      return fd
    }
    var current = dup(rootFD)
    guard current >= 0 else { throw Self.failure(operation, path) }
    for part in parts {
      let next = openat(current, part, Self.O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)
      var code = errno
      if next < 0 && code == ENOTDIR {
        // O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR: tell a symlink from a file.
        var st = stat()
        if fstatat(current, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFLNK {
          code = ELOOP
        }
      }
      Glibc.close(current)
      guard next >= 0 else { throw Self.failure(operation, path, code) }
      var st = stat()
      guard fstat(next, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
        Glibc.close(next)
        throw Self.failure(operation, path, ENOTDIR)
      }
      current = next
    }
    if flags & Self.O_PATH != 0 { return current }
    // A real descriptor (for reading the directory or fsync), reopened from the checked one.
    let fd = openat(current, ".", flags | O_DIRECTORY | O_CLOEXEC)
    let code = errno
    Glibc.close(current)
    guard fd >= 0 else { throw Self.failure(operation, path, code) }
    return fd
  }

  /// The parent directory of `path` (opened `O_PATH`) and the last component's name.
  private func parent(_ path: String, _ operation: String) throws(FileSystemError) -> (
    fd: Int32, name: String
  ) {
    let parts = try components(path, operation)
    guard let name = parts.last else {
      throw FileSystemError(.failed, operation: operation, path: path, detail: "the root itself")
    }
    return (try openDirectory(parts.dropLast(), flags: Self.O_PATH, operation, path), name)
  }

  /// Opens `path` following a final symlink inside the root (`RESOLVE_IN_ROOT` only).
  private func openFollowing(_ path: String, flags: Int32, _ operation: String) throws(FileSystemError)
    -> Int32
  {
    guard usesOpenat2 else {
      throw FileSystemError(
        .unsupported, operation: operation, path: path,
        detail: "following a symlink under a root directory needs openat2 (Linux 5.6 or later)")
    }
    let parts = try components(path, operation)
    let fd = Self.openat2(
      rootFD, parts.isEmpty ? "." : parts.joined(separator: "/"), flags: flags | O_CLOEXEC,
      resolve: Self.resolveInRoot | Self.resolveNoMagiclinks)
    guard fd >= 0 else { throw Self.failure(operation, path) }
    return fd
  }

  static func status(_ st: stat) -> FileStatus {
    let kind: FileStatus.Kind =
      switch st.st_mode & S_IFMT {
      case S_IFREG: .regular
      case S_IFDIR: .directory
      case S_IFLNK: .symlink
      default: .other
      }
    return FileStatus(
      kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid, size: UInt64(st.st_size),
      linkCount: UInt64(st.st_nlink), modified: Int64(st.st_mtim.tv_sec))
  }

  // MARK: FilePrimitives

  public func status(_ path: String, follow: Bool) throws(FileSystemError) -> FileStatus? {
    do throws(FileSystemError) {
      if follow {
        let fd = try openFollowing(path, flags: Self.O_PATH, "stat")
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Self.failure("stat", path) }
        return Self.status(st)
      }
      let parts = try components(path, "lstat")
      guard !parts.isEmpty else {
        var st = stat()
        guard fstat(rootFD, &st) == 0 else { throw Self.failure("lstat", path) }
        return Self.status(st)
      }
      let (dir, name) = try parent(path, "lstat")
      defer { Glibc.close(dir) }
      var st = stat()
      guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw Self.failure("lstat", path) }
      return Self.status(st)
    } catch  where error.kind == .notFound {
      return nil
    }
  }

  public func openForReading(_ path: String, follow: Bool) throws(FileSystemError) -> OpenFile? {
    let flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
    do throws(FileSystemError) {
      if follow { return OpenFile(token: Int(try openFollowing(path, flags: flags, "open"))) }
      let (dir, name) = try parent(path, "open")
      defer { Glibc.close(dir) }
      let fd = openat(dir, name, flags | O_NOFOLLOW)
      guard fd >= 0 else { throw Self.failure("open", path) }
      return OpenFile(token: Int(fd))
    } catch  where error.kind == .notFound {
      return nil
    }
  }

  public func createExclusive(_ path: String, mode: UInt32) throws(FileSystemError) -> OpenFile {
    let (dir, name) = try parent(path, "create")
    defer { Glibc.close(dir) }
    let fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
    guard fd >= 0 else { throw Self.failure("create", path) }
    return OpenFile(token: Int(fd))
  }

  public func status(of file: OpenFile) throws(FileSystemError) -> FileStatus {
    var st = stat()
    guard fstat(Int32(file.token), &st) == 0 else { throw Self.failure("fstat", "#\(file.token)") }
    return Self.status(st)
  }

  public func read(_ file: OpenFile, offset: UInt64, count: Int) throws(FileSystemError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    while true {
      let n = buffer.withUnsafeMutableBytes { pread(Int32(file.token), $0.baseAddress, count, off_t(offset)) }
      if n < 0 {
        if errno == EINTR { continue }
        throw Self.failure("read", "#\(file.token)")
      }
      buffer.removeSubrange(n...)
      return buffer
    }
  }

  public func write(_ file: OpenFile, offset: UInt64, bytes: [UInt8]) throws(FileSystemError) {
    var done = 0
    while done < bytes.count {
      let n = bytes.withUnsafeBytes {
        pwrite(Int32(file.token), $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw Self.failure("write", "#\(file.token)")
      }
      done += n
    }
  }

  public func sync(_ file: OpenFile) throws(FileSystemError) {
    guard fsync(Int32(file.token)) == 0 else { throw Self.failure("fsync", "#\(file.token)") }
  }

  private static func change(_ fd: Int32, mode: UInt32?, owner: FileOwner?, _ path: String)
    throws(FileSystemError)
  {
    if let owner, fchown(fd, owner.uid, owner.gid) != 0 { throw failure("chown", path) }
    // After fchown, which clears set-id bits.
    if let mode, fchmod(fd, mode_t(mode)) != 0 { throw failure("chmod", path) }
  }

  public func setAttributes(of file: OpenFile, mode: UInt32?, owner: FileOwner?) throws(FileSystemError) {
    try Self.change(Int32(file.token), mode: mode, owner: owner, "#\(file.token)")
  }

  public func close(_ file: OpenFile) { Glibc.close(Int32(file.token)) }

  public func rename(_ from: String, to: String) throws(FileSystemError) {
    let (source, sourceName) = try parent(from, "rename")
    defer { Glibc.close(source) }
    let (target, targetName) = try parent(to, "rename")
    defer { Glibc.close(target) }
    guard renameat(source, sourceName, target, targetName) == 0 else { throw Self.failure("rename", to) }
  }

  public func link(_ from: String, to: String) throws(FileSystemError) {
    let (source, sourceName) = try parent(from, "link")
    defer { Glibc.close(source) }
    let (target, targetName) = try parent(to, "link")
    defer { Glibc.close(target) }
    guard linkat(source, sourceName, target, targetName, 0) == 0 else { throw Self.failure("link", to) }
  }

  public func unlink(_ path: String) throws(FileSystemError) {
    let (dir, name) = try parent(path, "unlink")
    defer { Glibc.close(dir) }
    guard unlinkat(dir, name, 0) == 0 else { throw Self.failure("unlink", path) }
  }

  public func list(_ directory: String) throws(FileSystemError) -> [String] {
    let fd = try openDirectory(try components(directory, "list")[...], flags: O_RDONLY, "list", directory)
    guard let stream = fdopendir(fd) else {
      Glibc.close(fd)
      throw Self.failure("list", directory)
    }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  public func makeDirectory(_ path: String, mode: UInt32) throws(FileSystemError) {
    let (dir, name) = try parent(path, "mkdir")
    defer { Glibc.close(dir) }
    guard mkdirat(dir, name, mode_t(mode)) == 0 else { throw Self.failure("mkdir", path) }
  }

  public func removeDirectory(_ path: String) throws(FileSystemError) {
    let (dir, name) = try parent(path, "rmdir")
    defer { Glibc.close(dir) }
    guard unlinkat(dir, name, AT_REMOVEDIR) == 0 else { throw Self.failure("rmdir", path) }
  }

  public func resolve(_ path: String) throws(FileSystemError) -> String {
    let fd = try openFollowing(path, flags: Self.O_PATH, "realpath")
    defer { Glibc.close(fd) }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
    guard n > 0 else { throw Self.failure("realpath", path) }
    let real = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let base = root.hasSuffix("/") ? String(root.dropLast()) : root
    let resolvedRoot = (try? Self.realRoot(base)) ?? base
    if resolvedRoot.isEmpty { return real }
    guard real == resolvedRoot || real.hasPrefix(resolvedRoot + "/") else {
      throw FileSystemError(
        .escapesRoot, operation: "realpath", path: path, detail: "resolves outside the root")
    }
    let inside = String(real.dropFirst(resolvedRoot.count))
    return inside.isEmpty ? "/" : inside
  }

  private static func realRoot(_ root: String) throws -> String {
    guard !root.isEmpty, let real = realpath(root, nil) else { return "" }
    defer { free(real) }
    let text = String(cString: real)
    return text == "/" ? "" : text
  }

  public func setAttributes(_ path: String, mode: UInt32?, owner: FileOwner?) throws(FileSystemError) {
    let (dir, name) = try parent(path, "setstat")
    defer { Glibc.close(dir) }
    let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard fd >= 0 else { throw Self.failure("setstat", path) }
    defer { Glibc.close(fd) }
    try Self.change(fd, mode: mode, owner: owner, path)
  }

  public func syncDirectory(_ path: String) throws(FileSystemError) {
    let fd = try openDirectory(try components(path, "fsync")[...], flags: O_RDONLY, "fsync", path)
    defer { Glibc.close(fd) }
    guard fsync(fd) == 0 else { throw Self.failure("fsync", path) }
  }
}

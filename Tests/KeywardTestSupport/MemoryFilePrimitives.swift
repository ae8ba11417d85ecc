import KeywardCore

/// An in-memory file system behind `FilePrimitives`, for tests of the one write path: owners,
/// groups and modes checked as the acting user (`uid`, `groups`; uid 0 may do anything), symlinks
/// (followed in the middle of a path, never by `lstat`/`O_NOFOLLOW`), hard links (with Linux's
/// `protected_hardlinks`), FIFOs and devices (`other`: never readable), and a fault hook called
/// before every primitive: make that call fail, or "crash" (that call and every later one fail
/// with `connectionLost` and change nothing, as when the connection or the process dies).
public final class MemoryFilePrimitives: FilePrimitives {
  /// What the fault hook makes of a call.
  public enum Fault: Hashable, Sendable {
    case fail(FileSystemError.Kind)
    case crash
  }

  /// One primitive call: its name and the path it concerns.
  public struct Call: Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var description: String { "\(operation) \(path)" }
  }

  /// One entry of `snapshot()`.
  public struct Entry: Hashable, Sendable {
    public var kind: FileStatus.Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// SHA-256 of a file's bytes, a symlink's target, or "".
    public var content: String
    /// Which node this is (two hard links share it).
    public var inode: Int
  }

  final class Node {
    enum Kind {
      case file
      case directory
      case symlink(String)
      case other
    }
    var kind: Kind
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var data: [UInt8] = []
    var entries: [String: Node] = [:]
    var modified: Int64
    let inode: Int

    init(_ kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32, modified: Int64, inode: Int) {
      self.kind = kind
      self.mode = mode
      self.uid = uid
      self.gid = gid
      self.modified = modified
      self.inode = inode
    }

    var isDirectory: Bool { if case .directory = kind { true } else { false } }
    var statusKind: FileStatus.Kind {
      switch kind {
      case .file: .regular
      case .directory: .directory
      case .symlink: .symlink
      case .other: .other
      }
    }
  }

  /// The acting user and its groups (the first is its primary group).
  public var uid: UInt32
  public var groups: [UInt32]
  /// The clock, seconds since the epoch (mtimes; advance it to age a lock).
  public var now: Int64 = 1_800_000_000
  /// Every primitive call so far, in order.
  public private(set) var calls: [Call] = []
  /// Called before every primitive with its index in `calls`.
  public var fault: ((Int, Call) -> Fault?)?
  /// True once a `.crash` fault fired.
  public private(set) var crashed = false
  /// Ends a crash: later calls work again (the next run, after a restart).
  public func recover() {
    crashed = false
    handles = [:]
  }

  /// How many times a FIFO or device was read (it must never be).
  public private(set) var specialReads = 0

  private let root: Node
  private var nextInode = 2
  private var handles: [Int: (node: Node, writable: Bool)] = [:]
  private var nextHandle = 1

  public init(uid: UInt32 = 0, groups: [UInt32] = [0]) {
    self.uid = uid
    self.groups = groups
    root = Node(.directory, mode: 0o755, uid: 0, gid: 0, modified: 1_800_000_000, inode: 1)
  }

  // MARK: setting up (as root, no faults)

  private func seed(_ path: String, _ kind: Node.Kind, mode: UInt32, uid: UInt32, gid: UInt32?) -> Node {
    let parts = Self.components(path)
    var dir = root
    for part in parts.dropLast() {
      if let next = dir.entries[part] {
        dir = next
      } else {
        let made = newNode(.directory, mode: 0o755, uid: 0, gid: 0)
        dir.entries[part] = made
        dir = made
      }
    }
    let node = newNode(kind, mode: mode, uid: uid, gid: gid ?? uid)
    dir.entries[parts.last!] = node
    return node
  }

  private func newNode(_ kind: Node.Kind, mode: UInt32, uid: UInt32, gid: UInt32) -> Node {
    defer { nextInode += 1 }
    return Node(kind, mode: mode, uid: uid, gid: gid, modified: now, inode: nextInode)
  }

  /// Creates a directory (and missing parents, root-owned 0755).
  public func seedDirectory(_ path: String, mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32? = nil) {
    _ = seed(path, .directory, mode: mode, uid: uid, gid: gid)
  }

  public func seedFile(
    _ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600, uid: UInt32 = 0, gid: UInt32? = nil
  ) {
    seed(path, .file, mode: mode, uid: uid, gid: gid).data = bytes
  }

  public func seedSymlink(_ path: String, to target: String, uid: UInt32 = 0) {
    _ = seed(path, .symlink(target), mode: 0o777, uid: uid, gid: uid)
  }

  /// A FIFO or a device: reading it is never allowed.
  public func seedSpecial(_ path: String, mode: UInt32 = 0o666, uid: UInt32 = 0) {
    _ = seed(path, .other, mode: mode, uid: uid, gid: uid)
  }

  /// A second name for an existing node.
  public func seedHardLink(_ path: String, to existing: String) {
    let parts = Self.components(path)
    let parentPath = "/" + parts.dropLast().joined(separator: "/")
    guard let node = try? walk(existing, followLast: false, check: false).node,
      let parent = try? walk(parentPath, followLast: true, check: false).node, let name = parts.last
    else {
      preconditionFailure("seedHardLink: '\(existing)' or the directory '\(parentPath)' does not exist")
    }
    parent.entries[name] = node
  }

  // MARK: looking

  /// Every path (hard links under each name), with kind, mode, owner, content digest and inode.
  public func snapshot() -> [String: Entry] {
    var out: [String: Entry] = [:]
    func visit(_ node: Node, _ path: String) {
      var content = ""
      switch node.kind {
      case .file: content = ContentDigest.of(node.data)
      case .symlink(let target): content = target
      default: break
      }
      out[path.isEmpty ? "/" : path] = Entry(
        kind: node.statusKind, mode: node.mode, uid: node.uid, gid: node.gid, content: content,
        inode: node.inode)
      for (name, child) in node.entries { visit(child, path + "/" + name) }
    }
    visit(root, "")
    return out
  }

  /// A file's bytes (following symlinks), as root; nil when absent.
  public func contents(_ path: String) -> [UInt8]? {
    guard let node = try? walk(path, followLast: true, check: false).node, case .file = node.kind else {
      return nil
    }
    return node.data
  }

  // MARK: the path walk

  struct Walk {
    var parent: Node
    /// The canonical path of `parent`.
    var parentPath: String
    var name: String
    var node: Node?
    var path: String { (parentPath == "/" ? "" : parentPath) + "/" + name }
  }

  static func components(_ path: String) -> [String] {
    path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
  }

  private func allowed(_ node: Node, _ bit: UInt32) -> Bool {
    if uid == 0 { return true }
    if node.uid == uid { return node.mode & (bit << 6) != 0 }
    if groups.contains(node.gid) { return node.mode & (bit << 3) != 0 }
    return node.mode & bit != 0
  }

  private func walk(_ path: String, followLast: Bool, check: Bool = true, op: String = "walk")
    throws(FileSystemError) -> Walk
  {
    var pending = Self.components(path)
    var stack: [(node: Node, name: String)] = [(root, "")]
    var links = 0
    func here() -> String {
      stack.count == 1 ? "/" : stack.dropFirst().map(\.name).reduce("") { $0 + "/" + $1 }
    }
    while !pending.isEmpty {
      let part = pending.removeFirst()
      let dir = stack.last!.node
      guard dir.isDirectory else {
        throw FileSystemError(.failed, operation: op, path: path, detail: "ENOTDIR")
      }
      guard !check || allowed(dir, 1) else {
        throw FileSystemError(.permissionDenied, operation: op, path: path, detail: "EACCES")
      }
      if part == "." { continue }
      if part == ".." {
        if stack.count > 1 { stack.removeLast() }
        continue
      }
      let child = dir.entries[part]
      if pending.isEmpty {
        var isLink = false
        if let child, case .symlink = child.kind { isLink = true }
        if !followLast || !isLink {
          return Walk(parent: dir, parentPath: here(), name: part, node: child)
        }
      }
      guard let child else { throw FileSystemError(.notFound, operation: op, path: path, detail: "ENOENT") }
      if case .symlink(let target) = child.kind {
        links += 1
        guard links <= 40 else { throw FileSystemError(.failed, operation: op, path: path, detail: "ELOOP") }
        if target.hasPrefix("/") { stack = [(root, "")] }
        pending = Self.components(target) + pending
        continue
      }
      stack.append((child, part))
    }
    let last: (node: Node, name: String) = stack.count > 1 ? stack.removeLast() : (root, "")
    return Walk(parent: stack.last?.node ?? root, parentPath: here(), name: last.name, node: last.node)
  }

  // MARK: faults

  private func enter(_ operation: String, _ path: String) throws(FileSystemError) {
    let call = Call(operation: operation, path: path)
    let index = calls.count
    calls.append(call)
    if crashed { throw FileSystemError(.connectionLost, operation: operation, path: path, detail: "crashed") }
    switch fault?(index, call) {
    case .fail(let kind)?:
      throw FileSystemError(kind, operation: operation, path: path, detail: "injected failure")
    case .crash?:
      crashed = true
      throw FileSystemError(.connectionLost, operation: operation, path: path, detail: "crashed")
    case nil:
      break
    }
  }

  private func status(_ node: Node) -> FileStatus {
    FileStatus(
      kind: node.statusKind, mode: node.mode, uid: node.uid, gid: node.gid, size: UInt64(node.data.count),
      linkCount: nil, modified: node.modified)
  }

  private func denied(_ op: String, _ path: String) -> FileSystemError {
    FileSystemError(.permissionDenied, operation: op, path: path, detail: "EACCES")
  }

  private func handle(_ file: OpenFile, _ op: String) throws(FileSystemError) -> (node: Node, writable: Bool)
  {
    guard let open = handles[file.token] else {
      throw FileSystemError(.failed, operation: op, path: "#\(file.token)", detail: "EBADF")
    }
    return open
  }

  /// Parent of a new or removed entry: it must be a directory the user may write.
  private func writableParent(_ path: String, _ op: String) throws(FileSystemError) -> Walk {
    let found = try walk(path, followLast: false, op: op)
    guard found.parent.isDirectory else {
      throw FileSystemError(.failed, operation: op, path: path, detail: "ENOTDIR")
    }
    guard allowed(found.parent, 2), allowed(found.parent, 1) else { throw denied(op, path) }
    return found
  }

  // MARK: FilePrimitives

  public func status(_ path: String, follow: Bool) throws(FileSystemError) -> FileStatus? {
    try enter(follow ? "stat" : "lstat", path)
    do {
      return try walk(path, followLast: follow, op: "stat").node.map(status)
    } catch  where error.kind == .notFound {
      return nil
    }
  }

  public func openForReading(_ path: String, follow: Bool) throws(FileSystemError) -> OpenFile? {
    try enter("open", path)
    let found: Walk
    do {
      found = try walk(path, followLast: follow, op: "open")
    } catch  where error.kind == .notFound {
      return nil
    }
    guard let node = found.node else { return nil }
    if case .symlink = node.kind {
      throw FileSystemError(.symlink, operation: "open", path: path, detail: "ELOOP")
    }
    guard allowed(node, 4) else { throw denied("open", path) }
    return open(node, writable: false)
  }

  private func open(_ node: Node, writable: Bool) -> OpenFile {
    defer { nextHandle += 1 }
    handles[nextHandle] = (node, writable)
    return OpenFile(token: nextHandle)
  }

  public func createExclusive(_ path: String, mode: UInt32) throws(FileSystemError) -> OpenFile {
    try enter("create", path)
    let found = try writableParent(path, "create")
    guard found.node == nil else {
      throw FileSystemError(.exists, operation: "create", path: path, detail: "EEXIST")
    }
    let node = newNode(.file, mode: mode & 0o7777, uid: uid, gid: groups.first ?? uid)
    found.parent.entries[found.name] = node
    found.parent.modified = now
    return open(node, writable: true)
  }

  public func status(of file: OpenFile) throws(FileSystemError) -> FileStatus {
    try enter("fstat", "#\(file.token)")
    return status(try handle(file, "fstat").node)
  }

  public func read(_ file: OpenFile, offset: UInt64, count: Int) throws(FileSystemError) -> [UInt8] {
    try enter("read", "#\(file.token)")
    let node = try handle(file, "read").node
    guard case .file = node.kind else {
      if case .other = node.kind { specialReads += 1 }
      throw FileSystemError(.failed, operation: "read", path: "#\(file.token)", detail: "not a regular file")
    }
    guard offset < UInt64(node.data.count) else { return [] }
    let start = Int(offset)
    return Array(node.data[start..<min(node.data.count, start + count)])
  }

  public func write(_ file: OpenFile, offset: UInt64, bytes: [UInt8]) throws(FileSystemError) {
    try enter("write", "#\(file.token)")
    let open = try handle(file, "write")
    guard open.writable else { throw FileSystemError(.failed, operation: "write", path: "", detail: "EBADF") }
    let start = Int(offset)
    if open.node.data.count < start + bytes.count {
      open.node.data += [UInt8](repeating: 0, count: start + bytes.count - open.node.data.count)
    }
    open.node.data.replaceSubrange(start..<start + bytes.count, with: bytes)
    open.node.modified = now
  }

  public func sync(_ file: OpenFile) throws(FileSystemError) {
    try enter("fsync", "#\(file.token)")
    _ = try handle(file, "fsync")
  }

  private func change(_ node: Node, mode: UInt32?, owner: FileOwner?, _ op: String, _ path: String)
    throws(FileSystemError)
  {
    if mode != nil, uid != 0, node.uid != uid {
      throw FileSystemError(.permissionDenied, operation: op, path: path, detail: "EPERM")
    }
    if let owner, uid != 0 {
      guard node.uid == uid, owner.uid == uid, groups.contains(owner.gid) else {
        throw FileSystemError(.permissionDenied, operation: op, path: path, detail: "EPERM")
      }
    }
    if let mode { node.mode = mode & 0o7777 }
    if let owner {
      node.uid = owner.uid
      node.gid = owner.gid
    }
  }

  public func setAttributes(of file: OpenFile, mode: UInt32?, owner: FileOwner?) throws(FileSystemError) {
    try enter("fsetstat", "#\(file.token)")
    try change(try handle(file, "fsetstat").node, mode: mode, owner: owner, "fsetstat", "#\(file.token)")
  }

  public func close(_ file: OpenFile) {
    try? enter("close", "#\(file.token)")
    handles[file.token] = nil
  }

  public func rename(_ from: String, to: String) throws(FileSystemError) {
    try enter("rename", from + " -> " + to)
    let source = try writableParent(from, "rename")
    let target = try writableParent(to, "rename")
    guard let node = source.node else {
      throw FileSystemError(.notFound, operation: "rename", path: from, detail: "ENOENT")
    }
    if let existing = target.node, existing.isDirectory != node.isDirectory || !existing.entries.isEmpty {
      throw FileSystemError(.failed, operation: "rename", path: to, detail: "EISDIR")
    }
    source.parent.entries[source.name] = nil
    target.parent.entries[target.name] = node
  }

  public func link(_ from: String, to: String) throws(FileSystemError) {
    try enter("link", from + " -> " + to)
    guard let node = try walk(from, followLast: false, op: "link").node else {
      throw FileSystemError(.notFound, operation: "link", path: from, detail: "ENOENT")
    }
    let target = try writableParent(to, "link")
    guard target.node == nil else {
      throw FileSystemError(.exists, operation: "link", path: to, detail: "EEXIST")
    }
    guard !node.isDirectory else {
      throw FileSystemError(.failed, operation: "link", path: from, detail: "EPERM")
    }
    // protected_hardlinks: only the owner (or root) links a file it does not own.
    guard uid == 0 || node.uid == uid else {
      throw FileSystemError(.permissionDenied, operation: "link", path: from, detail: "EPERM")
    }
    target.parent.entries[target.name] = node
  }

  public func unlink(_ path: String) throws(FileSystemError) {
    try enter("unlink", path)
    let found = try writableParent(path, "unlink")
    guard let node = found.node else {
      throw FileSystemError(.notFound, operation: "unlink", path: path, detail: "ENOENT")
    }
    guard !node.isDirectory else {
      throw FileSystemError(.failed, operation: "unlink", path: path, detail: "EISDIR")
    }
    found.parent.entries[found.name] = nil
  }

  public func list(_ directory: String) throws(FileSystemError) -> [String] {
    try enter("list", directory)
    guard let node = try walk(directory, followLast: true, op: "list").node else {
      throw FileSystemError(.notFound, operation: "list", path: directory, detail: "ENOENT")
    }
    guard node.isDirectory else {
      throw FileSystemError(.failed, operation: "list", path: directory, detail: "ENOTDIR")
    }
    guard allowed(node, 4) else { throw denied("list", directory) }
    return node.entries.keys.sorted()
  }

  public func makeDirectory(_ path: String, mode: UInt32) throws(FileSystemError) {
    try enter("mkdir", path)
    let found = try writableParent(path, "mkdir")
    guard found.node == nil else {
      throw FileSystemError(.exists, operation: "mkdir", path: path, detail: "EEXIST")
    }
    found.parent.entries[found.name] = newNode(
      .directory, mode: mode & 0o7777, uid: uid, gid: groups.first ?? uid)
  }

  public func removeDirectory(_ path: String) throws(FileSystemError) {
    try enter("rmdir", path)
    let found = try writableParent(path, "rmdir")
    guard let node = found.node, node.isDirectory else {
      throw FileSystemError(.notFound, operation: "rmdir", path: path, detail: "ENOTDIR")
    }
    guard node.entries.isEmpty else {
      throw FileSystemError(.failed, operation: "rmdir", path: path, detail: "ENOTEMPTY")
    }
    found.parent.entries[found.name] = nil
  }

  public func resolve(_ path: String) throws(FileSystemError) -> String {
    try enter("realpath", path)
    let found = try walk(path, followLast: true, op: "realpath")
    guard found.node != nil else {
      throw FileSystemError(.notFound, operation: "realpath", path: path, detail: "ENOENT")
    }
    return found.path
  }

  public func setAttributes(_ path: String, mode: UInt32?, owner: FileOwner?) throws(FileSystemError) {
    try enter("setstat", path)
    guard let node = try walk(path, followLast: true, op: "setstat").node else {
      throw FileSystemError(.notFound, operation: "setstat", path: path, detail: "ENOENT")
    }
    try change(node, mode: mode, owner: owner, "setstat", path)
  }

  public func syncDirectory(_ path: String) throws(FileSystemError) {
    try enter("fsync-dir", path)
    guard try walk(path, followLast: true, op: "fsync-dir").node?.isDirectory == true else {
      throw FileSystemError(.notFound, operation: "fsync-dir", path: path, detail: "ENOENT")
    }
  }
}

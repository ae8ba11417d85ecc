/// One target's files seen through a `FilePrimitives`: the checks the reader and the write
/// sequence share (kinds, owners, sizes, symlinks), each made again on what was opened.
struct TargetFiles {
  let fs: any FilePrimitives
  let id: TargetID
  let account: PasswdEntry
  let policy: AccessPolicy

  /// The file and its directory after the symlink rules, with what `lstat` said about them.
  struct Resolved {
    var location: TargetLocation
    var home: FileStatus?
    var directory: FileStatus?
    var file: FileStatus?
  }

  // MARK: errors

  func error(_ code: TransportError.Code, _ step: TransportError.Step, _ message: String) -> TransportError {
    TransportError(code: code, host: id.host, step: step, message: message)
  }

  func error(_ failure: FileSystemError, step: TransportError.Step) -> TransportError {
    let code: TransportError.Code
    var message = failure.description
    switch failure.kind {
    case .notFound: code = .notFound
    case .permissionDenied:
      code = .permissionDenied
      if !policy.privileged { message += " (acting as '\(account.name)')" }
    case .symlink:
      code = .symlinkRefused
      message += "; keyward does not follow symlinks here unless the access rule says 'follow: true'"
    case .escapesRoot: code = .escapesRoot
    case .connectionLost: code = .connectionLost
    case .timedOut: code = .timedOut
    case .exists, .unsupported, .failed: code = step.failureCode
    }
    return error(code, step, message)
  }

  /// Runs one primitive, turning its failure into a `TransportError` for `step`.
  func io<T>(_ step: TransportError.Step, _ body: () throws(FileSystemError) -> T) throws(TransportError) -> T
  {
    do {
      return try body()
    } catch {
      throw self.error(error, step: step)
    }
  }

  // MARK: checks

  private func describe(_ kind: FileStatus.Kind) -> String {
    switch kind {
    case .regular: "a regular file"
    case .directory: "a directory"
    case .symlink: "a symlink"
    case .other: "a FIFO, socket or device"
    }
  }

  /// Refuses a directory that is not one, or that belongs to another user.
  func checkDirectory(_ status: FileStatus, _ path: String, step: TransportError.Step) throws(TransportError)
  {
    guard status.kind == .directory else {
      throw error(.notADirectory, step, "'\(path)' is \(describe(status.kind)), not a directory")
    }
    try checkOwner(status, path, step: step)
  }

  /// Refuses anything but a regular file of the user (or root, see `AccessPolicy`) within the limit.
  func checkFile(_ status: FileStatus, _ path: String, step: TransportError.Step) throws(TransportError) {
    guard status.kind == .regular else {
      throw error(
        .notAFile, step,
        "'\(path)' is \(describe(status.kind)), not a regular file; keyward refuses it without reading it")
    }
    try checkOwner(status, path, step: step)
    guard status.size <= policy.sizeLimit else {
      throw error(
        .tooLarge, step,
        "'\(path)' is \(status.size) bytes, over the \(policy.sizeLimit >> 20) MiB limit for an"
          + " authorized_keys file; refusing to read it")
    }
  }

  func checkOwner(_ status: FileStatus, _ path: String, step: TransportError.Step) throws(TransportError) {
    guard policy.accepts(owner: status.uid, for: account) else {
      throw error(
        .ownershipRefused, step,
        "'\(path)' is owned by uid \(status.uid), not by '\(account.name)' (uid \(account.uid));"
          + " refusing another user's file: fix its owner or the target's path")
    }
  }

  // MARK: resolution

  /// The target's file and directory, refusing symlinks unless `follow`, checking kinds and owners.
  func resolve(follow: Bool, step: TransportError.Step) throws(TransportError) -> Resolved {
    guard var location = TargetLocation.of(id, home: account.home) else {
      throw error(
        .invalidPath, step,
        "target path '\(id.path)' of '\(id.user)' is not a file path or climbs out with '..'")
    }
    // Unfollowed, the home, the directory and the file are looked at in one round trip; each
    // status (or its error) is still judged in order below, as if asked one after the other.
    let ahead: [Result<FileStatus?, FileSystemError>]? =
      follow
      ? nil
      : try io(step) { () throws(FileSystemError) in
        try fs.statuses([account.home, location.directory, location.path])
      }
    func lstat(_ index: Int, _ path: String) throws(TransportError) -> FileStatus? {
      if let ahead { return try io(step) { () throws(FileSystemError) in try ahead[index].get() } }
      return try io(step) { () throws(FileSystemError) in try fs.status(path, follow: false) }
    }
    let home = try lstat(0, account.home)
    var homeTarget = home
    if follow || home?.kind == .symlink {
      // Only a followed home is resolved here; otherwise the primitives decide (acting as the
      // user they follow it, as sshd does; confined to a root they refuse it).
      homeTarget = try io(step) { () throws(FileSystemError) in try fs.status(account.home, follow: true) }
    }
    guard homeTarget?.kind == .directory else {
      throw error(
        .noHome, step,
        "the home directory '\(account.home)' of '\(account.name)' does not exist; create it on the host"
          + " (keyward does not create home directories)")
    }
    if follow {
      // Every symlink on the way to the directory, resolved by the host (inside the root).
      do {
        let real = try fs.resolve(location.directory)
        location = TargetLocation(directory: real, name: location.name)
      } catch  where error.kind == .notFound {
      } catch {
        throw self.error(error, step: step)
      }
    }
    let directory = try lstat(1, location.directory)
    if let status = directory, status.kind == .symlink {
      throw symlinkRefused(location.directory, step: step)
    }
    guard let directory else { return Resolved(location: location, home: home) }
    try checkDirectory(directory, location.directory, step: step)
    var file = try lstat(2, location.path)
    var resolvedDirectory = directory
    if let status = file, status.kind == .symlink {
      guard follow else { throw symlinkRefused(location.path, step: step) }
      let path = location.path
      let real: String
      do {
        real = try fs.resolve(path)
      } catch  where error.kind == .notFound {
        throw self.error(.symlinkDangling, step, "'\(path)' is a symlink to nothing")
      } catch {
        throw self.error(error, step: step)
      }
      guard let moved = TargetLocation.of(absolute: real) else {
        throw self.error(.invalidPath, step, "'\(path)' resolves to '\(real)'")
      }
      location = moved
      guard
        let movedDirectory = try io(
          step, { () throws(FileSystemError) in try fs.status(location.directory, follow: false) })
      else { throw self.error(.symlinkDangling, step, "'\(path)' resolves to '\(real)', which is gone") }
      try checkDirectory(movedDirectory, location.directory, step: step)
      resolvedDirectory = movedDirectory
      file = try io(step) { () throws(FileSystemError) in try fs.status(location.path, follow: false) }
    }
    if let file { try checkFile(file, location.path, step: step) }
    return Resolved(location: location, home: home, directory: resolvedDirectory, file: file)
  }

  func symlinkRefused(_ path: String, step: TransportError.Step) -> TransportError {
    error(
      .symlinkRefused, step,
      "'\(path)' for '\(id)' is a symlink; keyward does not write through symlinks unless the access rule"
        + " says 'follow: true'")
  }

  // MARK: reading

  /// Reads a regular file of the user: checked before it is opened (so a FIFO is never opened)
  /// and again on the open handle; nil when it does not exist. `checked` is its status as the
  /// caller just judged it (`resolve`): not asked for again.
  func read(
    _ path: String, step: TransportError.Step, owner strict: Bool = false, checked: FileStatus? = nil
  ) throws(TransportError) -> (content: [UInt8], status: FileStatus)? {
    if checked == nil {
      guard let before = try io(step, { () throws(FileSystemError) in try fs.status(path, follow: false) })
      else { return nil }
      try checkFile(before, path, step: step)
      if strict { try checkStrictOwner(before, path, step: step) }
    }
    guard
      let handle = try io(step, { () throws(FileSystemError) in try fs.openForReading(path, follow: false) })
    else { return nil }
    defer { fs.close(handle) }
    let opened = try io(step) { () throws(FileSystemError) in try fs.status(of: handle) }
    try checkFile(opened, path, step: step)
    if strict { try checkStrictOwner(opened, path, step: step) }
    var content: [UInt8] = []
    content.reserveCapacity(Int(opened.size))
    // Asked for one byte more than its size: fewer bytes than asked means the end was reached
    // (primitives read short only at the end), so a file that did not grow takes one read.
    var want = Int(min(opened.size, policy.sizeLimit)) + 1
    while true {
      let offset = UInt64(content.count)
      let count = want
      let chunk = try io(step) { () throws(FileSystemError) in
        try fs.read(handle, offset: offset, count: count)
      }
      if chunk.isEmpty { break }
      content += chunk
      guard UInt64(content.count) <= policy.sizeLimit else {
        throw error(
          .tooLarge, step,
          "'\(path)' grew over the \(policy.sizeLimit >> 20) MiB limit while it was read; refusing it")
      }
      if chunk.count < count { break }
      want = 65_536
    }
    return (content, opened)
  }

  private func checkStrictOwner(_ status: FileStatus, _ path: String, step: TransportError.Step)
    throws(TransportError)
  {
    guard status.uid == account.uid else {
      throw error(
        .ownershipRefused, step,
        "'\(path)' is owned by uid \(status.uid), not by '\(account.name)' (uid \(account.uid))")
    }
  }

  /// The newest backup that is a regular file owned by the user (checked on the opened handle);
  /// backups that are not are skipped with a warning.
  func latestBackup(of location: TargetLocation, step: TransportError.Step) throws(TransportError)
    -> (backup: Backup?, warnings: [String])
  {
    let names = try io(step) { () throws(FileSystemError) in try fs.list(location.directory) }
    var warnings: [String] = []
    for name in Backup.backups(of: location.name, in: names).reversed() {
      let path = location.directory + "/" + name
      do {
        if let (content, _) = try read(path, step: step, owner: true) {
          return (Backup(name: name, content: content), warnings)
        }
      } catch {
        guard [.notAFile, .ownershipRefused, .tooLarge].contains(error.code) else { throw error }
        warnings.append("skipped backup '\(path)': \(error.message)")
      }
    }
    return (nil, warnings)
  }
}

extension PathStatus {
  /// What `lstat` said, in the plan's terms.
  init(_ status: FileStatus) {
    self.init(
      isSymlink: status.kind == .symlink, isDirectory: status.kind == .directory,
      isRegularFile: status.kind == .regular, mode: status.mode, uid: status.uid, gid: status.gid)
  }
}

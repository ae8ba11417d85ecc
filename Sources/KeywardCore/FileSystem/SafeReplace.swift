import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// keyward's one write path: replaces one target's file over `FilePrimitives`, so that every
/// step's failure leaves either the old state or exactly the planned state, and the lock is
/// released or provably stale.
///
/// The sequence: preflight (symlinks, kinds, owners, sizes, the home; a missing `~/.ssh` is
/// created) → lock (0600) → compare → the planned directory mode (before anything is written,
/// so no one else can touch the temp file in a world-writable directory) → temp file
/// (exclusive) → write → file mode and owner on the handle → fsync → compare again → backup (a
/// hard link to the old file, else a copy; it is also the restore point) → rename → fsync the
/// directory → read back → re-observe every planned action → login check → prune backups →
/// unlock. After a failure past the rename (or a failed login check) the old file is put back
/// exactly: the old inode itself (content, mode, owner) when it could be linked, and the old
/// directory mode; a directory created by this run is removed again.
///
/// The content change comes last: an interruption (a lost connection, a killed process) that
/// stops the sequence half-way leaves the old file, possibly in its already-tightened directory,
/// never the new file in a directory sshd refuses.
public struct SafeReplace {
  /// Points where a test can stop a write (process-death tests; see `KEYWARD_TEST_FAULT`).
  public enum Checkpoint: Hashable, Sendable {
    case afterLock
    /// `offset` bytes of the temp file are written.
    case writing(offset: Int, total: Int)
    case afterTemp
    case beforeRename
  }

  public var files: any FilePrimitives
  public var account: PasswdEntry
  public var policy: AccessPolicy
  /// Proves after the rename that the account still accepts a login (`WriteRequest.verifyLogin`);
  /// returns why it does not, or nil. Supplied by the transport; nil: no check.
  public var loginCheck: ((WriteRequest) -> TransportError?)?
  /// How long to wait for another run's live lock.
  public var lockWait: Duration
  /// Seconds since the epoch, for lock ages and backup names.
  public var now: () -> Int64
  /// Called at each `Checkpoint` (tests only).
  public var checkpoint: ((Checkpoint) -> Void)?

  public init(
    files: any FilePrimitives, account: PasswdEntry, policy: AccessPolicy,
    loginCheck: ((WriteRequest) -> TransportError?)? = nil, lockWait: Duration = .seconds(20),
    now: @escaping () -> Int64 = { Int64(time(nil)) }, checkpoint: ((Checkpoint) -> Void)? = nil
  ) {
    self.files = files
    self.account = account
    self.policy = policy
    self.loginCheck = loginCheck
    self.lockWait = lockWait
    self.now = now
    self.checkpoint = checkpoint
  }

  /// Size of each write to the temp file.
  static let chunk = 65_536

  /// The modes keyward may give a file or a directory: never group/world write, never
  /// set-id or sticky bits, never more than the owner's own rights on the file.
  static func allowedFileMode(_ mode: UInt32) -> Bool { mode & ~0o700 == 0 && mode & 0o600 == 0o600 }
  static func allowedDirectoryMode(_ mode: UInt32) -> Bool { mode & ~0o755 == 0 && mode & 0o700 == 0o700 }

  /// Runs the sequence for one request.
  public func write(_ request: WriteRequest) -> WriteResult {
    var run = Run(self, request)
    let outcome = run.execute()
    return WriteResult(outcome: outcome, warnings: run.warnings)
  }

  /// The state of one run: what it has done so far, so a failure can undo exactly that.
  struct Run {
    let config: SafeReplace
    let request: WriteRequest
    let target: TargetFiles
    var fs: any FilePrimitives { target.fs }
    var warnings: [String] = []

    var location: TargetLocation?
    var createdDirectory = false
    var lock: TargetLock?
    var temp: String?
    /// The old file's status and digest, when there was one.
    var old: FileStatus?
    var oldDigest = ContentDigest.absent
    /// The directory's mode before this run changed it.
    var oldDirectoryMode: UInt32?
    /// A name for the old file (a backup or a hidden link): the way back.
    var restorePoint: (path: String, isBackup: Bool, isLink: Bool)?
    var replaced = false

    init(_ config: SafeReplace, _ request: WriteRequest) {
      self.config = config
      self.request = request
      self.target = TargetFiles(
        fs: config.files, id: request.id, account: config.account, policy: config.policy)
    }

    func io<T>(_ step: TransportError.Step, _ body: () throws(FileSystemError) -> T) throws(TransportError)
      -> T
    {
      try target.io(step, body)
    }

    mutating func execute() -> WriteOutcome {
      var outcome: WriteOutcome
      do throws(TransportError) {
        outcome = try replace()
      } catch {
        outcome = .failed(error)
      }
      // Anything but a finished write (or a rollback already done) puts back what was changed.
      if replaced || oldDirectoryMode != nil {
        switch outcome {
        case .failed(let error):
          if let failure = restore(after: error) { outcome = .failed(failure) }
        case .stale:
          let cause = target.error(.stale, .compare, "the file changed while it was being replaced")
          if let failure = restore(after: cause) { outcome = .failed(failure) }
        case .written, .rolledBack:
          break
        }
      }
      finish(succeeded: { if case .written = outcome { return true } else { return false } }())
      return outcome
    }

    // MARK: the sequence

    mutating func replace() throws(TransportError) -> WriteOutcome {
      guard SafeReplace.allowedFileMode(request.fileMode) else {
        throw target.error(
          .modeRefused, .preflight,
          "file mode \(FileAction.octal(request.fileMode)) is not one keyward gives an authorized_keys file")
      }
      if let mode = request.directoryMode, !SafeReplace.allowedDirectoryMode(mode) {
        throw target.error(
          .modeRefused, .preflight, "directory mode \(FileAction.octal(mode)) is not one keyward sets")
      }
      // Preflight.
      let resolved = try target.resolve(follow: request.follow, step: .preflight)
      let place = resolved.location
      location = place
      var directory: FileStatus
      if let existing = resolved.directory {
        directory = existing
      } else {
        guard request.expectedDigest == ContentDigest.absent else {
          return .stale(currentDigest: ContentDigest.absent)
        }
        directory = try makeDirectory(place.directory)
      }

      // Lock.
      let (lock, warning) = try TargetLock.acquire(
        target, directory: place.directory, name: place.name, wait: config.lockWait, now: config.now)
      self.lock = lock
      if let warning { warnings.append(warning) }
      config.checkpoint?(.afterLock)
      let names = try io(.list) { () throws(FileSystemError) in try fs.list(place.directory) }
      removeLeftovers(names, place)

      // Compare.
      let current = try target.read(place.path, step: .compare)
      let currentDigest = ContentDigest.of(current?.content)
      guard currentDigest == request.expectedDigest else { return .stale(currentDigest: currentDigest) }
      old = current?.status
      oldDigest = currentDigest

      // The planned directory mode, before anything is written into the directory.
      if let mode = request.directoryMode, directory.mode != mode {
        oldDirectoryMode = directory.mode
        try io(.chmod) { () throws(FileSystemError) in
          try fs.setAttributes(place.directory, mode: mode, owner: nil)
        }
        directory.mode = mode
      }

      // Temp file, write, modes, fsync.
      let tempPath = place.directory + "/." + place.name + ".keyward-tmp-" + Self.random()
      let handle = try io(.temp) { () throws(FileSystemError) in
        try fs.createExclusive(tempPath, mode: 0o600)
      }
      temp = tempPath
      do {
        defer { fs.close(handle) }
        try writeTemp(handle, path: tempPath)
      }
      config.checkpoint?(.afterTemp)

      // Compare again, right before the replace.
      let again = try target.read(place.path, step: .compare)
      let againDigest = ContentDigest.of(again?.content)
      guard againDigest == request.expectedDigest else { return .stale(currentDigest: againDigest) }
      old = again?.status

      // Backup (and the way back).
      if let old = again {
        restorePoint = try keepOld(old.content, status: old.status, names: names, place)
      }
      config.checkpoint?(.beforeRename)

      // Replace.
      try io(.rename) { () throws(FileSystemError) in try fs.rename(tempPath, to: place.path) }
      temp = nil
      replaced = true
      try io(.fsync) { () throws(FileSystemError) in try fs.syncDirectory(place.directory) }

      // Read back, and re-observe every planned action.
      let wanted = ContentDigest.of(request.content)
      let back = try target.read(place.path, step: .verify)
      let backDigest = ContentDigest.of(back?.content)
      guard backDigest == wanted else {
        throw target.error(
          .verifyFailed, .verify,
          "'\(place.path)' reads back with digest \(backDigest), not the \(wanted) just written")
      }
      try reobserve(place, directoryMode: request.directoryMode ?? directory.mode)

      // Login check.
      if request.verifyLogin, let check = config.loginCheck, let failure = check(request) {
        let reason =
          "a fresh login as '\(request.id.user)' failed after the write (\(failure.step): \(failure.message))"
        if let restoreFailure = restore(after: target.error(.loginCheckFailed, .verify, reason)) {
          throw restoreFailure
        }
        return .rolledBack(
          target.error(.loginCheckFailed, .verify, reason + "; the previous file was restored"))
      }

      // Prune, only now that the new file is in place for good.
      prune(place)
      return .written(digest: wanted)
    }

    /// Creates the missing directory with the planned mode, owned by the user: made under a
    /// temporary name, given its mode and owner, then renamed into place, so that an interrupted
    /// run never leaves a directory with the wrong owner where `~/.ssh` belongs.
    mutating func makeDirectory(_ path: String) throws(TransportError) -> FileStatus {
      let mode = request.directoryMode ?? 0o700
      guard let place = TargetLocation.of(absolute: path) else {
        throw target.error(.invalidPath, .mkdir, "cannot create '\(path)'")
      }
      // Directories an interrupted run left (rmdir removes only empty ones).
      let prefix = "." + place.name + ".keyward-tmp-"
      if let names = try? fs.list(place.directory) {
        for name in names where name.hasPrefix(prefix) {
          try? fs.removeDirectory(place.directory + "/" + name)
        }
      }
      let temporary = place.directory + "/" + prefix + Self.random()
      try io(.mkdir) { () throws(FileSystemError) in try fs.makeDirectory(temporary, mode: mode) }
      do throws(TransportError) {
        guard
          let made = try io(
            .mkdir, { () throws(FileSystemError) in try fs.status(temporary, follow: false) })
        else { throw target.error(.mkdirFailed, .mkdir, "'\(temporary)' vanished after it was created") }
        let owner = FileOwner(uid: target.account.uid, gid: target.account.gid)
        let needsOwner = made.uid != owner.uid || made.gid != owner.gid
        if made.mode != mode || needsOwner {
          try io(.mkdir) { () throws(FileSystemError) in
            try fs.setAttributes(temporary, mode: mode, owner: needsOwner ? owner : nil)
          }
        }
        try io(.mkdir) { () throws(FileSystemError) in try fs.rename(temporary, to: path) }
      } catch {
        try? fs.removeDirectory(temporary)
        throw error
      }
      createdDirectory = true
      guard let status = try io(.mkdir, { () throws(FileSystemError) in try fs.status(path, follow: false) })
      else { throw target.error(.mkdirFailed, .mkdir, "'\(path)' vanished after it was created") }
      try target.checkDirectory(status, path, step: .mkdir)
      return status
    }

    /// Writes the new content into the temp file, gives it its mode and owner, fsyncs it and
    /// checks what was written on the handle.
    func writeTemp(_ handle: OpenFile, path: String) throws(TransportError) {
      let content = request.content
      var offset = 0
      while offset < content.count {
        let end = min(offset + SafeReplace.chunk, content.count)
        let slice = Array(content[offset..<end])
        let at = UInt64(offset)
        try io(.write) { () throws(FileSystemError) in try fs.write(handle, offset: at, bytes: slice) }
        offset = end
        config.checkpoint?(.writing(offset: offset, total: content.count))
      }
      let owner = FileOwner(uid: target.account.uid, gid: target.account.gid)
      let made = try io(.write) { () throws(FileSystemError) in try fs.status(of: handle) }
      let needsOwner = made.uid != owner.uid || made.gid != owner.gid
      try io(.chmod) { () throws(FileSystemError) in
        try fs.setAttributes(of: handle, mode: request.fileMode, owner: needsOwner ? owner : nil)
      }
      try io(.fsync) { () throws(FileSystemError) in try fs.sync(handle) }
      let written = try io(.write) { () throws(FileSystemError) in try fs.status(of: handle) }
      guard written.kind == .regular, written.mode == request.fileMode, written.uid == owner.uid,
        written.gid == owner.gid, written.size == UInt64(content.count)
      else {
        throw target.error(
          .writeFailed, .write,
          "the temp file '\(path)' is not what was written (mode \(FileAction.octal(written.mode)),"
            + " owner \(written.uid):\(written.gid), \(written.size) bytes)")
      }
    }

    static func random() -> String { String(UInt64.random(in: 0...UInt64.max), radix: 36) }
  }
}

import AuthorizedKeys
import KeywardCore
import KeywardTestSupport
import Testing

/// The reader's refusals and the sequence's restores, locks and backups, on the in-memory file
/// system.
@Suite("TargetReader and SafeReplace")
struct SafeReplaceTests {
  static let alice = PasswdEntry(name: "alice", uid: 2001, gid: 2001, home: "/home/alice")
  static let id = TargetID(user: "alice", host: "mem")
  static let dir = "/home/alice/.ssh"
  static let file = dir + "/authorized_keys"
  static let old = Array((TestKeys.bob + "\n").utf8)
  static let new = Array((TestKeys.alice + "\n").utf8)

  static func fs(asAlice: Bool = true) -> MemoryFilePrimitives {
    let fs = MemoryFilePrimitives()
    fs.seedDirectory("/home/alice", mode: 0o755, uid: 2001)
    fs.seedDirectory(dir, mode: 0o700, uid: 2001)
    fs.seedFile(file, old, uid: 2001)
    if asAlice {
      fs.uid = 2001
      fs.groups = [2001]
    }
    return fs
  }

  static func read(_ fs: MemoryFilePrimitives, backup: Bool = false) -> Result<ObservedTarget, TransportError>
  {
    TargetReader(files: fs, policy: AccessPolicy(privileged: false)).read(
      FetchRequest(id: id, includeBackup: backup), account: alice)
  }

  static func code(_ result: Result<ObservedTarget, TransportError>) -> String? {
    if case .failure(let error) = result { return error.code.rawValue }
    return nil
  }

  @Test func aFIFOOrDeviceIsRefusedWithoutBeingOpened() {
    let fs = Self.fs()
    fs.seedSpecial(Self.file + "x", uid: 2001)
    let fifo = TargetID(user: "alice", host: "mem", path: ".ssh/authorized_keysx")
    let result = TargetReader(files: fs, policy: AccessPolicy(privileged: false)).read(
      FetchRequest(id: fifo), account: Self.alice)
    #expect(Self.code(result) == "not-a-file")
    #expect(!fs.calls.contains { $0.operation == "open" }, "\(fs.calls)")
    #expect(fs.specialReads == 0)
  }

  @Test func aFileOverTheLimitIsRefusedWithoutReadingIt() {
    let fs = Self.fs()
    fs.seedFile(Self.file, [UInt8](repeating: 0x41, count: (16 << 20) + 1), uid: 2001)
    #expect(Self.code(Self.read(fs)) == "too-large")
    #expect(!fs.calls.contains { $0.operation == "read" })
  }

  @Test func aMissingHomeIsAnErrorAtPlanTime() {
    let fs = MemoryFilePrimitives()
    fs.seedDirectory("/home", mode: 0o755)
    #expect(Self.code(Self.read(fs)) == "no-home")
  }

  @Test func filesAndDirectoriesOfOthersAreRefused() {
    for (path, uid) in [(Self.file, UInt32(2002)), (Self.file, 0), (Self.dir, 2002), (Self.dir, 0)] {
      let fs = Self.fs(asAlice: false)
      if path == Self.dir {
        fs.seedDirectory(Self.dir, mode: 0o700, uid: uid)
        fs.seedFile(Self.file, Self.old, uid: 2001)
      } else {
        fs.seedFile(path, Self.old, uid: uid)
      }
      #expect(Self.code(Self.read(fs)) == "ownership-refused", "\(path) owned by \(uid)")
    }
  }

  @Test func onlyRegularBackupsOfTheUserAreRead() throws {
    let fs = Self.fs(asAlice: false)
    let prefix = Self.file + ".keyward-backup."
    fs.seedFile(prefix + "20200101T000000Z", Array("genuine\n".utf8), uid: 2001)
    fs.seedFile(prefix + "20210101T000000Z", Array("root's\n".utf8), uid: 0)
    fs.seedSymlink(prefix + "20220101T000000Z", to: "/etc/shadow", uid: 2001)
    fs.seedSpecial(prefix + "20230101T000000Z", uid: 2001)
    let observed = try Self.read(fs, backup: true).get()
    #expect(
      observed.latestBackup
        == Backup(name: "authorized_keys.keyward-backup.20200101T000000Z", content: Array("genuine\n".utf8)))
    #expect(observed.warnings.count == 3, "\(observed.warnings)")
    #expect(fs.specialReads == 0)
  }

  /// A failed login check puts back the very same file (inode, content, mode, owner) and the
  /// directory's mode; no backup of the rolled-back write is left.
  @Test(arguments: [0, 2])
  func aFailedLoginCheckRestoresExactly(backups: Int) {
    let fs = Self.fs()
    fs.seedDirectory(Self.dir, mode: 0o777, uid: 2001)
    fs.seedFile(Self.file, Self.old, mode: 0o400, uid: 2001, gid: 100)
    fs.groups = [2001, 100]
    let before = fs.snapshot()
    var checked = 0
    let writer = SafeReplace(
      files: fs, account: Self.alice, policy: AccessPolicy(privileged: false),
      loginCheck: { _ in
        checked += 1
        #expect(fs.contents(Self.file) == Self.new)
        #expect(fs.snapshot()[Self.dir]?.mode == 0o700)
        return TransportError(code: .authFailed, host: "mem", step: .auth, message: "refused")
      })
    let result = writer.write(
      WriteRequest(
        id: Self.id, expectedDigest: ContentDigest.of(Self.old), content: Self.new, fileMode: 0o600,
        directoryMode: 0o700, backupLimit: backups))
    guard case .rolledBack(let error) = result.outcome else {
      Issue.record("expected a rollback, got \(result)")
      return
    }
    #expect(error.code == .loginCheckFailed)
    #expect(checked == 1)
    #expect(fs.snapshot() == before)
  }

  /// Someone edits the file between the first compare and the replace (here: while the temp file
  /// is created): the write is stale, their edit stays, and the directory mode keyward had
  /// already tightened is put back, as is everything else.
  @Test func aChangeDuringTheWriteIsStaleAndUndone() {
    let fs = Self.fs()
    fs.seedDirectory(Self.dir, mode: 0o777, uid: 2001)
    fs.seedFile(Self.file, Self.old, uid: 2001)
    let edited = Array("someone else's edit\n".utf8)
    fs.fault = { _, call in
      if call.operation == "create", call.path.contains(".keyward-tmp-") {
        fs.seedFile(Self.file, edited, uid: 2001)
      }
      return nil
    }
    let before = fs.snapshot()
    let result = SafeReplace(files: fs, account: Self.alice, policy: AccessPolicy(privileged: false)).write(
      WriteRequest(
        id: Self.id, expectedDigest: ContentDigest.of(Self.old), content: Self.new, directoryMode: 0o700,
        verifyLogin: false))
    #expect(result.outcome == .stale(currentDigest: ContentDigest.of(edited)))
    #expect(fs.contents(Self.file) == edited)
    var after = fs.snapshot()
    #expect(after[Self.dir]?.mode == 0o777)
    after[Self.file] = before[Self.file]
    #expect(after.keys.sorted() == before.keys.sorted())
  }

  @Test func aLiveLockIsWaitedForThenNamedAndAStaleOneIsBroken() {
    let fs = Self.fs()
    // A lock of another machine, fresh: live.
    fs.seedFile(
      Self.file + ".keyward-lock", Array("keyward-lock v2\nholder 0000\npid 1\ntoken t\n".utf8), uid: 2001)
    let request = WriteRequest(
      id: Self.id, expectedDigest: ContentDigest.of(Self.old), content: Self.new, verifyLogin: false)
    let writer = SafeReplace(
      files: fs, account: Self.alice, policy: AccessPolicy(privileged: false), lockWait: .milliseconds(300),
      now: { fs.now })
    let locked = writer.write(request)
    guard case .failed(let error) = locked.outcome else {
      Issue.record("expected 'locked', got \(locked)")
      return
    }
    #expect(error.code == .locked)
    #expect(error.message.contains("another machine"))
    #expect(fs.contents(Self.file) == Self.old)
    // Two minutes later it is stale: broken with a warning, and the write goes through.
    fs.now += 121
    let written = writer.write(request)
    #expect(written.outcome == .written(digest: ContentDigest.of(Self.new)))
    #expect(written.warnings.contains { $0.contains("broke the lock") })
    #expect(!fs.snapshot().keys.contains { $0.hasSuffix(".keyward-lock") })
  }

  @Test func modesKeywardNeverPlansAreRefused() {
    for (file, directory) in [(UInt32(0o4600), UInt32?.none), (0o666, nil), (0o600, 0o777), (0o600, 0o1700)] {
      let fs = Self.fs()
      let before = fs.snapshot()
      let result = SafeReplace(files: fs, account: Self.alice, policy: AccessPolicy(privileged: false)).write(
        WriteRequest(
          id: Self.id, expectedDigest: ContentDigest.of(Self.old), content: Self.new, fileMode: file,
          directoryMode: directory))
      guard case .failed(let error) = result.outcome else {
        Issue.record("mode \(file)/\(String(describing: directory)) was not refused")
        continue
      }
      #expect(error.code == .modeRefused)
      #expect(fs.snapshot() == before)
    }
  }
}

import AuthorizedKeys
import KeywardCore
import KeywardTestSupport
import Testing

/// The one write path on the in-memory file system: every action kind the planner emits ×
/// every primitive call of the sequence failing (or the run "crashing" there). Afterwards the
/// file is unchanged or exactly the planned state, nothing outside the target's directory
/// changed, and the next run (which must get past the lock at once, or after the lock's age
/// makes it stale) converges to a plan that is empty.
@Suite("SafeReplace table")
struct SafeReplaceTableTests {
  static let alice = PasswdEntry(name: "alice", uid: 2001, gid: 2001, home: "/home/alice")
  static let id = TargetID(user: "alice", host: "mem")
  static let dir = "/home/alice/.ssh"
  static let file = dir + "/authorized_keys"
  static let old = Array((TestKeys.bob + "\n").utf8)

  /// A starting state, the identity the primitives act as, and what the plan must contain.
  struct Scenario: Sendable, CustomStringConvertible {
    var name: String
    var actingAsUser: Bool
    var follow = false
    var actions: Set<String>
    var setup: @Sendable (MemoryFilePrimitives) -> Void
    var description: String { name + (actingAsUser ? " (as alice)" : " (as root)") }
  }

  static func base(_ fs: MemoryFilePrimitives) {
    fs.seedDirectory("/home", mode: 0o755)
    fs.seedDirectory("/home/alice", mode: 0o755, uid: 2001)
    fs.seedDirectory("/home/bob/.ssh", mode: 0o700, uid: 2002)
    fs.seedFile("/home/bob/.ssh/authorized_keys", Array("bob's\n".utf8), uid: 2002)
    fs.seedDirectory("/root/.ssh", mode: 0o700)
    fs.seedFile("/root/.ssh/authorized_keys", Array("root's\n".utf8))
    fs.seedFile("/etc/passwd", Array("root:x:0:0::/root:/bin/sh\n".utf8), mode: 0o644)
  }

  static let starts: [(String, Set<String>, Bool, @Sendable (MemoryFilePrimitives) -> Void)] = [
    ("missing ~/.ssh", ["createDirectory", "createFile"], false, { _ in }),
    ("missing file", ["createFile"], false, { $0.seedDirectory(dir, mode: 0o700, uid: 2001) }),
    (
      "dir 0777", ["fixDirectoryMode"], false,
      { fs in
        fs.seedDirectory(dir, mode: 0o777, uid: 2001)
        fs.seedFile(file, old, uid: 2001)
      }
    ),
    (
      "dir 0775 shared group", ["fixDirectoryMode"], false,
      { fs in
        fs.seedDirectory(dir, mode: 0o775, uid: 2001, gid: 100)
        fs.seedFile(file, old, uid: 2001)
      }
    ),
    (
      "file 0666", ["fixFileMode"], false,
      { fs in
        fs.seedDirectory(dir, mode: 0o700, uid: 2001)
        fs.seedFile(file, old, mode: 0o666, uid: 2001)
      }
    ),
    (
      "key change only", [], false,
      { fs in
        fs.seedDirectory(dir, mode: 0o700, uid: 2001)
        fs.seedFile(file, old, uid: 2001, gid: 2001)
      }
    ),
    (
      "mode fixes, same keys", ["fixDirectoryMode", "fixFileMode"], false,
      { fs in
        fs.seedDirectory(dir, mode: 0o770, uid: 2001)
        fs.seedFile(file, Array((TestKeys.alice + "\n").utf8), mode: 0o644, uid: 2001)
      }
    ),
    (
      "backups at the limit", [], false,
      { fs in
        fs.seedDirectory(dir, mode: 0o700, uid: 2001)
        fs.seedFile(file, old, uid: 2001)
        fs.seedFile(file + ".keyward-backup.20200101T000000Z", Array("first\n".utf8), uid: 2001)
        fs.seedFile(file + ".keyward-backup.20210101T000000Z", Array("second\n".utf8), uid: 2001)
      }
    ),
    (
      "followed symlink in the home", [], true,
      { fs in
        fs.seedDirectory(dir, mode: 0o700, uid: 2001)
        fs.seedDirectory("/home/alice/keys", mode: 0o700, uid: 2001)
        fs.seedFile("/home/alice/keys/ak", old, uid: 2001)
        fs.seedSymlink(file, to: "/home/alice/keys/ak", uid: 2001)
      }
    ),
  ]

  static let scenarios: [Scenario] = starts.flatMap { start in
    [true, false].map { user in
      Scenario(name: start.0, actingAsUser: user, follow: start.2, actions: start.1, setup: start.3)
    }
  }

  static func fresh(_ scenario: Scenario) -> MemoryFilePrimitives {
    let fs = MemoryFilePrimitives()
    base(fs)
    scenario.setup(fs)
    if scenario.actingAsUser {
      fs.uid = 2001
      fs.groups = [2001]
    }
    return fs
  }

  static func desired(_ scenario: Scenario) -> DesiredTarget {
    DesiredTarget(
      id: id, mode: .exclusive,
      entries: [DesiredEntry(keyName: "alice", key: TestKeys.key(TestKeys.alice), rule: "table")],
      follow: scenario.follow)
  }

  static func plan(_ fs: MemoryFilePrimitives, _ scenario: Scenario) throws -> TargetPlan {
    let reader = TargetReader(files: fs, policy: AccessPolicy(privileged: !scenario.actingAsUser))
    let observed = try reader.read(FetchRequest(id: id, follow: scenario.follow), account: alice).get()
    return Planner().plan(desired(scenario), observed: observed, revoked: [:], protected: [])
  }

  static func request(_ plan: TargetPlan) -> WriteRequest {
    WriteRequest(
      id: id, expectedDigest: plan.observedDigest!, content: plan.newContent!, fileMode: plan.fileMode,
      directoryMode: plan.directoryMode, follow: plan.follow, backupLimit: 2, verifyLogin: false)
  }

  static func kind(_ action: FileAction) -> String {
    switch action {
    case .createDirectory: "createDirectory"
    case .createFile: "createFile"
    case .fixDirectoryMode: "fixDirectoryMode"
    case .fixFileMode: "fixFileMode"
    case .changeFileOwner: "changeFileOwner"
    }
  }

  static func writer(_ fs: MemoryFilePrimitives, _ scenario: Scenario, wait: Duration = .zero) -> SafeReplace
  {
    SafeReplace(
      files: fs, account: alice, policy: AccessPolicy(privileged: !scenario.actingAsUser), lockWait: wait,
      now: { fs.now })
  }

  /// Names keyward leaves only while it runs.
  static func isTransient(_ path: String) -> Bool {
    path.contains(".keyward-tmp-") || path.contains(".keyward-restore-") || path.hasSuffix(".keyward-lock")
      || path.contains(".keyward-lock.broken-")
  }

  /// Where the file lives (the real directory when the scenario follows a symlink).
  static func realDirectory(_ scenario: Scenario) -> String { scenario.follow ? "/home/alice/keys" : dir }
  static func realFile(_ scenario: Scenario) -> String { scenario.follow ? "/home/alice/keys/ak" : file }

  /// Everything outside the file's directory, and the directory itself apart from its entries.
  static func outside(_ snapshot: [String: MemoryFilePrimitives.Entry], _ scenario: Scenario)
    -> [String: MemoryFilePrimitives.Entry]
  {
    let directory = realDirectory(scenario)
    return snapshot.filter {
      !$0.key.hasPrefix(directory + "/") && $0.key != directory && !isTransient($0.key)
    }
  }

  /// The state is exactly the planned one: content, file mode and owner, directory mode and
  /// owner, nothing transient, backups within the limit, and nothing else changed.
  static func isPlanned(
    _ now: [String: MemoryFilePrimitives.Entry], before: [String: MemoryFilePrimitives.Entry],
    _ plan: TargetPlan, _ scenario: Scenario, transientAllowed: Bool = false
  ) -> Bool {
    let file = realFile(scenario)
    let directory = realDirectory(scenario)
    guard let entry = now[file], entry.kind == .regular, entry.content == ContentDigest.of(plan.newContent),
      entry.mode == plan.fileMode, entry.uid == 2001, entry.gid == 2001,
      let dir = now[directory], dir.kind == .directory, dir.uid == 2001,
      dir.mode == (plan.directoryMode ?? before[directory]!.mode),
      outside(now, scenario) == outside(before, scenario)
    else { return false }
    let extra = now.keys.filter { $0.hasPrefix(directory + "/") && $0 != file && !isSymlinkOf(scenario, $0) }
    return extra.allSatisfy { path in
      (transientAllowed && isTransient(path))
        || (path.hasPrefix(file + ".keyward-backup.")
          && (now[path]!.content == before[file]?.content || now[path] == before[path]))
    } && extra.filter { $0.contains(".keyward-backup.") }.count <= (transientAllowed ? 3 : 2)
  }

  static func isSymlinkOf(_ scenario: Scenario, _ path: String) -> Bool { scenario.follow && path == file }

  /// The file as it was (same inode: restored exactly) and its directory's mode as it was
  /// or as planned; with `exact`, the whole file system as it was.
  static func isOld(
    _ now: [String: MemoryFilePrimitives.Entry], before: [String: MemoryFilePrimitives.Entry],
    _ plan: TargetPlan, _ scenario: Scenario, exact: Bool
  ) -> Bool {
    if exact { return now == before }
    let file = realFile(scenario)
    let directory = realDirectory(scenario)
    guard now[file] == before[file], outside(now, scenario) == outside(before, scenario) else { return false }
    // Leftovers of the interrupted run: transient names, or a backup of the old file.
    let extra = now.keys.filter { $0.hasPrefix(directory + "/") && before[$0] == nil }
    guard
      extra.allSatisfy({
        isTransient($0)
          || ($0.hasPrefix(file + ".keyward-backup.") && now[$0]?.content == before[file]?.content)
      })
    else { return false }
    // The directory: as it was, or already as planned (it is fixed before the content).
    guard let dir = now[directory] else { return before[directory] == nil }
    let planned = plan.directoryMode ?? before[directory]?.mode
    return dir.mode == before[directory]?.mode || dir.mode == planned
  }

  @Test("every action kind × every primitive failing or crashing at each call", arguments: scenarios)
  func table(_ scenario: Scenario) throws {
    // A clean run: the plan has the expected actions, the write converges, the next plan is empty.
    let clean = Self.fresh(scenario)
    let before = clean.snapshot()
    let plan = try Self.plan(clean, scenario)
    #expect(plan.status == .changes)
    #expect(Set(plan.fileActions.map(Self.kind)) == scenario.actions, "\(plan.fileActions)")
    let request = Self.request(plan)
    clean.fault = nil
    let callsBefore = clean.calls.count
    let result = Self.writer(clean, scenario).write(request)
    #expect(result.outcome == .written(digest: ContentDigest.of(plan.newContent)), "\(result)")
    let calls = Array(clean.calls[callsBefore...])
    #expect(Self.isPlanned(clean.snapshot(), before: before, plan, scenario))
    #expect(try Self.plan(clean, scenario).status == .unchanged)

    var cases = 0
    var restoredAfterRename = 0
    var agedLocks = 0
    for (index, call) in calls.enumerated() {
      for fault in [MemoryFilePrimitives.Fault.fail(.failed), .crash] {
        if call.operation == "close", fault != .crash { continue }  // close cannot fail
        cases += 1
        let fs = Self.fresh(scenario)
        let start = fs.calls.count
        fs.fault = { at, _ in at == start + index ? fault : nil }
        let outcome = Self.writer(fs, scenario).write(request).outcome
        let after = fs.snapshot()
        let label = "\(scenario) \(fault) at call \(index) '\(call)': \(outcome)"
        if case .written = outcome {
          // Only a best-effort step failed (pruning, the lock's release): its leftovers are
          // cleaned by the next run, below.
          #expect(Self.isPlanned(after, before: before, plan, scenario, transientAllowed: true), "\(label)")
        } else if fault == .crash {
          #expect(
            Self.isOld(after, before: before, plan, scenario, exact: false)
              || Self.isPlanned(after, before: before, plan, scenario, transientAllowed: true), "\(label)")
        } else {
          #expect(Self.isOld(after, before: before, plan, scenario, exact: true), "\(label)")
          if calls[..<index].contains(where: { $0.operation == "rename" }) { restoredAfterRename += 1 }
        }

        // The next run gets past the lock (at once, or once the lock is old enough to be stale),
        // converges, and leaves only the file and its backups.
        fs.fault = nil
        fs.recover()
        var next = try Self.plan(fs, scenario)
        if next.status == .unchanged, fs.snapshot().keys.contains(where: Self.isTransient) {
          // Already planned, but the interrupted run left its lock or a link: a rewrite of the
          // same bytes must break the lock and clean up.
          next.status = .changes
          next.newContent = fs.contents(Self.realFile(scenario))
        }
        let rewrote = next.status == .changes
        if rewrote {
          var retry = Self.writer(fs, scenario).write(Self.request(next)).outcome
          if case .failed(let error) = retry, error.code == .locked {
            agedLocks += 1
            fs.now += 121
            retry = Self.writer(fs, scenario).write(Self.request(next)).outcome
          }
          #expect(
            retry == .written(digest: ContentDigest.of(plan.newContent)), "\(label); next run: \(retry)")
        }
        #expect(try Self.plan(fs, scenario).status == .unchanged, "\(label)")
        let final = fs.snapshot()
        #expect(
          !final.keys.contains(where: Self.isTransient),
          "\(label): left \(final.keys.filter(Self.isTransient))")
        #expect(Self.outside(final, scenario) == Self.outside(before, scenario), "\(label)")
        // A failed prune leaves one backup too many until the next write prunes it.
        #expect(final.keys.filter { $0.contains(".keyward-backup.") }.count <= (rewrote ? 2 : 3), "\(label)")
      }
    }
    #expect(cases > 40)
    print(
      "SafeReplace table: \(scenario): \(calls.count) calls, \(cases) cases"
        + " (\(restoredAfterRename) failures after the rename restored exactly,"
        + " \(agedLocks) half-written locks broken by age)")
  }
}

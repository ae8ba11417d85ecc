import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 6's guarantees on real hosts: locking, backups, the login check with rollback,
/// ownership and symlink refusals, lock-out, concurrent runs, hostile files and secrets.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SafetyTests {
  static let alice = TargetID(user: "alice", host: "lab1")

  func write(
    _ ssh: any Transport, _ id: TargetID, from old: [UInt8]?, to new: [UInt8], verify: Bool = true,
    backups: Int = 5
  )
    async -> WriteOutcome?
  {
    await ssh.write([
      WriteRequest(
        id: id, expectedDigest: ContentDigest.of(old), content: new, backupLimit: backups, verifyLogin: verify
      )
    ])[id]
  }

  @Test(
    "a live lock fails the target with its holder; a stale one is broken; backups are kept and pruned",
    arguments: LabTransport.allCases)
  func lockingAndBackups(_ kind: LabTransport) async throws {
    defer { kind.count(1, "lockingAndBackups") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(155)) { fleet in
      let path = fleet.authorizedKeys(1, "alice")
      let lock = path + ".keyward-lock"
      let original = try #require(fleet.bytes(path))
      // A live lock of a process on another machine.
      try fleet.install(
        "keyward-lock v1\nhost ci-runner-7\nboot x\npid 4242\nstarted 2026-11-23T22:00:00Z\ntoken t\n",
        at: lock,
        uid: 2001, mode: 0o644)
      let next = Array((fleet.adminPublicKey + "# one\n").utf8)
      let start = ContinuousClock.now
      let locked = await write(fleet.transport(kind), Self.alice, from: original, to: next)
      guard case .failed(let error) = locked else {
        Issue.record("expected a lock failure, got \(String(describing: locked))")
        return
      }
      #expect(error.code == .locked)
      // The core's lock names its holder by pid only (the lock file shows no host name).
      #expect(error.message.contains("keyward pid 4242"), "\(error.message)")
      #expect(ContinuousClock.now - start >= .seconds(19))
      #expect(fleet.bytes(path) == original)
      // The same lock, 10 minutes old: broken.
      var times = [
        timespec(tv_sec: time(nil) - 600, tv_nsec: 0), timespec(tv_sec: time(nil) - 600, tv_nsec: 0),
      ]
      #expect(utimensat(AT_FDCWD, lock, &times, 0) == 0)
      #expect(
        await write(fleet.transport(kind), Self.alice, from: original, to: next)
          == .written(digest: ContentDigest.of(next)))
      #expect(!FileManager.default.fileExists(atPath: lock))

      // Two writers racing from the same observed state, 6 rounds: exactly one wins each round,
      // the other writes nothing; the file is always one of the two, never a mix.
      var base = next
      for round in 0..<6 {
        let x = Array((fleet.adminPublicKey + "# x\(round)\n").utf8)
        let y = Array((fleet.adminPublicKey + "# y\(round)\n").utf8)
        let from = base
        async let first = write(fleet.transport(kind), Self.alice, from: from, to: x)
        async let second = write(fleet.transport(kind), Self.alice, from: from, to: y)
        let outcomes = await [first, second]
        let winners = outcomes.filter { if case .written = $0 { true } else { false } }
        // The loser is told the file changed, or (on a very slow machine) that it stayed locked.
        let losers = outcomes.filter {
          if case .stale = $0 { return true }
          return $0?.failureCode == "locked"
        }
        #expect(winners.count == 1 && losers.count == 1, "round \(round): \(outcomes)")
        let now = try #require(fleet.bytes(path))
        #expect(now == x || now == y)
        base = now
      }

      // Backups: each write keeps the previous file; beyond the limit the oldest go.
      var current = base
      var contents = [original, base]
      for n in 2...5 {
        let content = Array((fleet.adminPublicKey + "# \(n)\n").utf8)
        #expect(await write(fleet.transport(kind), Self.alice, from: current, to: content, backups: 3) != nil)
        current = content
        contents.append(content)
        sleep(1)  // backup names have one-second resolution; keep them distinct in time
      }
      let names = try FileManager.default.contentsOfDirectory(atPath: fleet.home(1, "alice") + "/.ssh")
      let backups = Backup.backups(of: "authorized_keys", in: names)
      #expect(backups.count == 3)
      // The newest backup is the file before the last write; fetch reports it.
      let observed = try #require(
        try await fleet.transport(kind).fetch([FetchRequest(id: Self.alice, includeBackup: true)])[
          Self.alice]?
          .get())
      #expect(observed.latestBackup?.name == backups.last)
      #expect(observed.latestBackup?.content == contents[contents.count - 2])
      #expect(fleet.bytes(fleet.home(1, "alice") + "/.ssh/" + backups[0]) == contents[contents.count - 4])
      #expect(FileFacts(fleet.home(1, "alice") + "/.ssh/" + backups[0])?.uid == 2001)
    }
  }

  @Test(
    "a write that breaks login (world-writable home) is detected by the fresh login and rolled back",
    arguments: LabTransport.allCases)
  func rollbackOnFailedLogin(_ kind: LabTransport) async throws {
    defer { kind.count(1, "rollbackOnFailedLogin") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(156)) { fleet in
      let asRoot = ["lab1": HostSpec(name: "lab1", connectAs: "root")]
      let path = fleet.authorizedKeys(1, "alice")
      let original = try #require(fleet.bytes(path))
      let granted = try fleet.makeKey("granted")
      let next = Array((fleet.adminPublicKey + granted.publicLine + "\n").utf8)
      chmod(fleet.home(1, "alice"), 0o707)
      let outcome = await write(fleet.transport(kind, hosts: asRoot), Self.alice, from: original, to: next)
      guard case .rolledBack(let error) = outcome else {
        Issue.record("expected a rollback, got \(String(describing: outcome))")
        return
      }
      #expect(error.step == .verify)
      #expect(error.message.contains("a fresh login as 'alice'"), "\(error.message)")
      #expect(error.message.contains("the previous file was restored"))
      #expect(fleet.bytes(path) == original)
      #expect(FileFacts(path) == FileFacts(mode: 0o600, uid: 2001, gid: 2001))
      // The written file was kept as... no: the previous file is the newest backup, the new one is gone.
      #expect(try await fleet.ssh("alice", 1, identity: granted.path).status != 0)
      // --no-verify: the same write stays.
      let unverified = await write(
        fleet.transport(kind, hosts: asRoot), Self.alice, from: original, to: next, verify: false)
      #expect(unverified == .written(digest: ContentDigest.of(next)))
      // Fixed home: the check passes and the write stays.
      chmod(fleet.home(1, "alice"), 0o700)
      let fixed = Array((fleet.adminPublicKey + "# fixed\n").utf8)
      #expect(
        await write(fleet.transport(kind, hosts: asRoot), Self.alice, from: next, to: fixed)
          == .written(digest: ContentDigest.of(fixed)))
      #expect(try await fleet.ssh("alice", 1).status == 0)
    }
  }

  @Test(
    "as root: another user's ~/.ssh or file is refused; symlinked ~/.ssh is refused",
    arguments: LabTransport.allCases)
  func ownershipAndSymlinks(_ kind: LabTransport) async throws {
    defer { kind.count(1, "ownershipAndSymlinks") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(157)) { fleet in
      let asRoot = ["lab1": HostSpec(name: "lab1", connectAs: "root")]
      let path = fleet.authorizedKeys(1, "alice")
      let original = try #require(fleet.bytes(path))
      let next = Array((fleet.adminPublicKey + "# x\n").utf8)
      chown(fleet.home(1, "alice") + "/.ssh", 2002, 2002)
      let foreignDirectory = await write(
        fleet.transport(kind, hosts: asRoot), Self.alice, from: original, to: next)
      // Acting as alice, bob's 0700 directory is closed to her before keyward's own check runs.
      #expect(["ownership-refused", "permission-denied"].contains(foreignDirectory?.failureCode))
      chown(fleet.home(1, "alice") + "/.ssh", 2001, 2001)
      chown(path, 2002, 2002)
      let foreignFile = await write(
        fleet.transport(kind, hosts: asRoot), Self.alice, from: original, to: next)
      #expect(["ownership-refused", "permission-denied"].contains(foreignFile?.failureCode))
      chown(path, 2001, 2001)
      #expect(fleet.bytes(path) == original)
      // ~/.ssh a symlink to bob's: refused for fetch and write, bob's file untouched.
      let bobFile = try #require(fleet.bytes(fleet.authorizedKeys(1, "bob")))
      try FileManager.default.moveItem(
        atPath: fleet.home(1, "alice") + "/.ssh", toPath: fleet.home(1, "alice") + "/ssh.real")
      try FileManager.default.createSymbolicLink(
        atPath: fleet.home(1, "alice") + "/.ssh", withDestinationPath: "/home/bob/.ssh")
      let fetched = await fleet.transport(kind, hosts: asRoot).fetch([FetchRequest(id: Self.alice)])
      #expect(fetched[Self.alice]?.failure?.code == .symlinkRefused)
      let written = await write(fleet.transport(kind, hosts: asRoot), Self.alice, from: bobFile, to: next)
      #expect(written?.failureCode == "symlink-refused")
      #expect(fleet.bytes(fleet.authorizedKeys(1, "bob")) == bobFile)
    }
  }

  @Test(
    "hostile files: huge, binary, invalid lines, CRLF, a symlink to another file; nothing else changes",
    arguments: LabTransport.allCases)
  func hostileFiles(_ kind: LabTransport) async throws {
    defer { kind.count(1, "hostileFiles") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(158)) { fleet in
      let granted = try fleet.makeKey("granted")
      let manifest = fleet.dir + "/keys.yaml"
      try """
      version: 1
      defaults:
        connect_as: root
      keys:
        admin: { file: admin_ed25519.pub }
        granted: { file: granted.pub }
      hosts:
        lab1: {}
      access:
        - hosts: [lab1]
          users: [alice]
          keys: [admin, granted]
      """.write(toFile: manifest, atomically: true, encoding: .utf8)
      let path = fleet.authorizedKeys(1, "alice")
      let admin = fleet.adminPublicKey.trimmingCharacters(in: .whitespacesAndNewlines)
      var binary = Array(admin.utf8) + [10]
      binary += (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
      let cases: [(String, [UInt8])] = [
        (
          "huge",
          Array((admin + "\n" + String(repeating: "# padding line for a huge file\n", count: 600_000)).utf8)
        ),
        ("binary", binary),
        (
          "invalid", Array((admin + "\nnot a key at all\nssh-ed25519 !!!notbase64\n\u{7}\u{1}garbage\n").utf8)
        ),
        ("crlf", Array((admin + "\r\n# a comment\r\n").utf8)),
      ]
      for (name, bytes) in cases {
        try fleet.install("", at: path, uid: 2001)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let others = fleet.snapshot(1, excluding: ["home/alice/.ssh"])
        let result = try await fleet.keyward(["apply", manifest, "--auto-approve"], transport: kind)
        let after = fleet.bytes(path) ?? []
        if result.status == 0 {
          // Applied: the file now holds exactly the declared keys, and they log in.
          let file = AuthorizedKeysFile(bytes: after)
          #expect(Set(file.entries.map(\.key.fingerprint)).count == 2, "\(name)")
          #expect(try await fleet.ssh("alice", 1, identity: granted.path).status == 0, "\(name)")
          #expect(try await fleet.ssh("alice", 1).status == 0, "\(name)")
        } else {
          // Refused: with a clear error and the file untouched.
          #expect(after == bytes, "\(name)")
          #expect(result.stdout.contains("alice@lab1") || result.stderr.contains("alice@lab1"), "\(name)")
        }
        print(
          "hostile '\(name)' (\(bytes.count) bytes): exit \(result.status): \(result.stdout.split(separator: "\n").filter { $0.contains("error") || $0.contains("alice@lab1") }.prefix(3))"
        )
        #expect(fleet.snapshot(1, excluding: ["home/alice/.ssh"]) == others, "\(name): another file changed")
      }
      // A symlink to another file (bob's) is refused; bob's file is untouched.
      try FileManager.default.removeItem(atPath: path)
      try FileManager.default.createSymbolicLink(
        atPath: path, withDestinationPath: "/home/bob/.ssh/authorized_keys")
      let others = fleet.snapshot(1, excluding: ["home/alice/.ssh"])
      let result = try await fleet.keyward(["apply", manifest, "--auto-approve"], transport: kind)
      #expect(result.status != 0)
      #expect((result.stdout + result.stderr).contains("symlink"), "\(result.stdout)\(result.stderr)")
      #expect(fleet.snapshot(1, excluding: ["home/alice/.ssh"]) == others)
    }
  }
}

import Foundation
import KeywardCore
import KeywardTestSupport
import Synchronization
import Testing

@testable import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// Interrupted writes on real hosts: whatever kills a write before its rename, the target's
/// authorized_keys stays byte-identical and a real `ssh` login with the old key still works.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct FaultInjectionTests {
  static let alice = TargetID(user: "alice", host: "lab1")

  /// A large new file: the admin key plus `lines` generated comment lines.
  static func largeContent(_ fleet: Fleet, lines: Int) -> [UInt8] {
    var text = fleet.adminPublicKey
    for n in 0..<lines { text += "# filler line \(n) keeps this write in flight for a while\n" }
    return Array(text.utf8)
  }

  /// Runs `runs` interrupted writes of `content` to alice@lab1, each with a hook made by
  /// `makeHook(run)`; checks the file and a real login after each. Returns how many runs the
  /// hook really interrupted (the file is checked in every run).
  func interruptedRuns(
    _ fleet: Fleet, _ kind: LabTransport, runs: Int, content: @escaping (Int) -> [UInt8],
    makeHook: (Int, Flag) -> LabFault
  ) async throws -> Int {
    let path = fleet.authorizedKeys(1, "alice")
    let original = try #require(fleet.bytes(path))
    var interrupted = 0
    for run in 0..<runs {
      let fired = Flag()
      let ssh = fleet.transport(kind, fault: makeHook(run, fired))
      let outcome = await ssh.write([
        WriteRequest(id: Self.alice, expectedDigest: ContentDigest.of(original), content: content(run))
      ])
      ssh.closeSessions()
      if fired.isSet {
        interrupted += 1
        #expect(outcome[Self.alice]?.failureCode != nil, "run \(run): \(String(describing: outcome))")
      }
      #expect(fleet.bytes(path) == original, "run \(run): authorized_keys changed")
      #expect(FileFacts(path) == FileFacts(mode: 0o600, uid: 2001, gid: 2001), "run \(run)")
      #expect(try await fleet.ssh("alice", 1).status == 0, "run \(run): the old key no longer logs in")
    }
    // A clean run afterwards takes over the orphaned lock, cleans the temp files and writes.
    let clean = Array((fleet.adminPublicKey + "# after the faults\n").utf8)
    let outcome = await fleet.transport(kind).write([
      WriteRequest(id: Self.alice, expectedDigest: ContentDigest.of(original), content: clean)
    ])
    #expect(outcome[Self.alice] == .written(digest: ContentDigest.of(clean)))
    let names = try FileManager.default.contentsOfDirectory(atPath: fleet.home(1, "alice") + "/.ssh")
    #expect(names.filter { !$0.contains(".keyward-backup.") }.sorted() == ["authorized_keys"])
    print("[\(kind.rawValue)] fault runs checked: \(runs), interrupted by the fault: \(interrupted)")
    kind.count(runs, "interrupted writes")
    return interrupted
  }

  @Test(
    "connection killed after the temp file is written (22 runs, at four points around it)",
    arguments: LabTransport.allCases)
  func killedAfterTemp(_ kind: LabTransport) async throws {
    try await Fleet.with(hosts: 1, subnet: kind.subnet(150)) { fleet in
      let content = Array((fleet.adminPublicKey + "# new\n").utf8)
      let interrupted = try await interruptedRuns(fleet, kind, runs: 22, content: { _ in content }) {
        run, fired in
        // Vary the point: right after the temp file, and with a delay of up to 20 ms after it, or
        // just before the rename (after the compare and the backup).
        let delay = Double(run % 5) * 0.005
        let beforeRename = run % 4 == 3
        return { point, connection in
          if point == (beforeRename ? .beforeRename : .afterTemp), fired.set() {
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            connection.cut()
          }
        }
      }
      #expect(interrupted == 22)
    }
  }

  @Test(
    "connection killed during a large write (24 runs, 2.3 MB, at varied offsets)",
    arguments: LabTransport.allCases)
  func killedDuringLargeWrite(_ kind: LabTransport) async throws {
    try await Fleet.with(hosts: 1, subnet: kind.subnet(151)) { fleet in
      let content = Self.largeContent(fleet, lines: 40_000)
      let interrupted = try await interruptedRuns(fleet, kind, runs: 24, content: { _ in content }) {
        run, fired in
        let cut = content.count * (run + 1) / 26
        return { point, connection in
          if case .writing(let offset, _) = point, offset >= cut, fired.set() { connection.cut() }
        }
      }
      #expect(interrupted == 24)
    }
  }

  @Test(
    "the sshd session process killed (24 runs: after the lock, mid-write, after the temp file, before the rename)",
    arguments: LabTransport.allCases)
  func sessionProcessKilled(_ kind: LabTransport) async throws {
    try await Fleet.with(hosts: 1, subnet: kind.subnet(152)) { fleet in
      let content = Self.largeContent(fleet, lines: 8_000)
      let killed = Mutex(0)
      let interrupted = try await interruptedRuns(fleet, kind, runs: 24, content: { _ in content }) {
        run, fired in
        let cut = content.count * (run % 7 + 1) / 8
        return { point, _ in
          let hit: Bool
          switch (run % 4, point) {
          case (0, .afterLock), (2, .afterTemp), (3, .beforeRename): hit = true
          case (1, .writing(let offset, _)): hit = offset >= cut
          default: hit = false
          }
          if hit, fired.set() {
            let count = fleet.killSessions(1)
            killed.withLock { $0 += count }
            // Let the kill land before the client goes on.
            Thread.sleep(forTimeInterval: 0.02)
          }
        }
      }
      #expect(interrupted == 24)
      #expect(killed.withLock { $0 } >= 24)
    }
  }

  @Test(
    "the keyward process dies mid-apply (KEYWARD_TEST_FAULT, 6 runs); the next run breaks its lock",
    arguments: LabTransport.allCases)
  func processDies(_ kind: LabTransport) async throws {
    try await Fleet.with(hosts: 1, subnet: kind.subnet(153)) { fleet in
      let path = fleet.authorizedKeys(1, "alice")
      let original = try #require(fleet.bytes(path))
      let extra = try fleet.makeKey("extra")
      let manifest = fleet.dir + "/keys.yaml"
      try """
      version: 1
      keys:
        admin: { file: admin_ed25519.pub }
        extra: { file: extra.pub }
      hosts:
        lab1: {}
      access:
        - hosts: [lab1]
          users: [alice]
          keys: [admin, extra]
      """.write(toFile: manifest, atomically: true, encoding: .utf8)
      let faults = ["ssh-after-lock", "ssh-write-offset:1", "ssh-after-temp", "ssh-before-rename"]
      defer { kind.count(6, "keyward process dies") }
      for run in 0..<6 {
        let fault = faults[run % faults.count]
        let result = try await fleet.keyward(
          ["apply", manifest, "--auto-approve"], environment: ["KEYWARD_TEST_FAULT": fault], transport: kind)
        #expect(result.status == 70, "\(fault): \(result.stdout) \(result.stderr)")
        #expect(fleet.bytes(path) == original, "\(fault)")
        #expect(try await fleet.ssh("alice", 1).status == 0, "\(fault)")
      }
      let result = try await fleet.keyward(["apply", manifest, "--auto-approve"], transport: kind)
      #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
      // The write's warning comes back as a value, in the apply report (as for --local).
      #expect(result.stdout.contains("alice@lab1: warning: broke the lock"), "\(result.stdout)")
      #expect(result.stdout.contains("its process is gone"))
      #expect(try await fleet.ssh("alice", 1, identity: extra.path).status == 0)
      let names = try FileManager.default.contentsOfDirectory(atPath: fleet.home(1, "alice") + "/.ssh")
      #expect(names.filter { !$0.contains(".keyward-backup.") }.sorted() == ["authorized_keys"])
    }
  }

  @Test(
    "the remote disk is full (a 256 KiB tmpfs as alice's home, 8 fill levels)",
    arguments: LabTransport.allCases)
  func diskFull(_ kind: LabTransport) async throws {
    try Prerequisite.require("/usr/bin/nsenter")
    try await Fleet.with(hosts: 1, subnet: kind.subnet(154)) { fleet in
      let setup = try await fleet.inHost(
        1,
        """
        set -e
        cp -a /home/alice/.ssh /tmp/keyward-ssh-$$
        mount -t tmpfs -o size=256k,mode=0700,uid=2001,gid=2001 keyward-full /home/alice
        cp -a /tmp/keyward-ssh-$$ /home/alice/.ssh && rm -rf /tmp/keyward-ssh-$$
        dd if=/dev/zero of=/home/alice/fill bs=4096 2>/dev/null || true
        """)
      #expect(setup.status == 0, "\(setup.output)")
      let read = "cat /home/alice/.ssh/authorized_keys | sha256sum"
      let original = try await fleet.inHost(1, read).output
      #expect(original.contains(ContentDigest.of(Array(fleet.adminPublicKey.utf8))))
      let content = Self.largeContent(fleet, lines: 1_000)  // ~60 KB
      var failures: [String: Int] = [:]
      for freeKiB in [0, 4, 8, 12, 16, 24, 32, 48] {
        // Free exactly `freeKiB` (the fill file shrinks; it was filled to the last page).
        try await fleet.inHost(
          1,
          "dd if=/dev/zero of=/home/alice/fill bs=4096 2>/dev/null; truncate -s -\(freeKiB)K /home/alice/fill"
        )
        let outcome = await fleet.transport(kind).write([
          WriteRequest(
            id: Self.alice, expectedDigest: ContentDigest.of(Array(fleet.adminPublicKey.utf8)),
            content: content)
        ])
        let error = try #require(
          outcome[Self.alice].flatMap { if case .failed(let e) = $0 { e } else { nil } })
        #expect(error.message.contains("may be full"), "\(error)")
        failures[error.step.rawValue, default: 0] += 1
        #expect(try await fleet.inHost(1, read).output == original, "free \(freeKiB) KiB")
        let left = try await fleet.inHost(1, "ls -A /home/alice/.ssh").output
        #expect(
          left.split(separator: "\n").filter { !$0.contains(".keyward-backup.") } == ["authorized_keys"])
        #expect(try await fleet.ssh("alice", 1).status == 0, "free \(freeKiB) KiB")
      }
      print("[\(kind.rawValue)] disk-full runs checked: 8, failed at steps: \(failures)")
      kind.count(8, "disk full")
      // With space again, the same write goes through.
      try await fleet.inHost(1, "rm /home/alice/fill")
      let outcome = await fleet.transport(kind).write([
        WriteRequest(
          id: Self.alice, expectedDigest: ContentDigest.of(Array(fleet.adminPublicKey.utf8)), content: content
        )
      ])
      #expect(outcome[Self.alice] == .written(digest: ContentDigest.of(content)))
    }
  }
}

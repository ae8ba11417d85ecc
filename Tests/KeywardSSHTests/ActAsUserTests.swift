import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 9 over SSH: logged in as root, keyward touches a user's files only through an
/// `sftp-server` running as that user, so symlinks the user plants at root's files get nowhere.
/// After every attack, root's files are unchanged (bytes, owner, mode), root still logs in with
/// the admin key, and keyward says why it refused.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct ActAsUserTests {
  static let alice = TargetID(user: "alice", host: "lab1")
  static let asRoot = ["lab1": HostSpec(name: "lab1", connectAs: "root")]

  /// One way alice turns her own files into pointers at root's.
  struct Attack: Sendable, CustomStringConvertible {
    var name: String
    /// Paths relative to the host root: (link, target as the host sees it).
    var plant: @Sendable (Fleet) throws -> Void
    var description: String { name }
  }

  static let attacks: [Attack] = [
    Attack(name: "authorized_keys -> /root/.ssh/authorized_keys") { fleet in
      let path = fleet.authorizedKeys(1, "alice")
      try FileManager.default.removeItem(atPath: path)
      try FileManager.default.createSymbolicLink(
        atPath: path, withDestinationPath: "/root/.ssh/authorized_keys")
      lchown(path, 2001, 2001)
    },
    Attack(name: "~/.ssh -> /root/.ssh") { fleet in
      let ssh = fleet.home(1, "alice") + "/.ssh"
      try FileManager.default.removeItem(atPath: ssh)
      try FileManager.default.createSymbolicLink(atPath: ssh, withDestinationPath: "/root/.ssh")
      lchown(ssh, 2001, 2001)
    },
    Attack(name: "home -> /root") { fleet in
      let home = fleet.home(1, "alice")
      try FileManager.default.removeItem(atPath: home)
      try FileManager.default.createSymbolicLink(atPath: home, withDestinationPath: "/root")
    },
  ]

  /// What must never change: every file under the host's /root.
  func rootFiles(_ fleet: Fleet) -> [String: String] {
    fleet.snapshot(1).filter { $0.key.hasPrefix("root/") }
  }

  @Test(
    "as root for alice: symlinks at root's files are refused, with and without follow",
    arguments: Array(zip(attacks, [171, 172, 173])), LabTransport.allCases)
  func symlinkAttacks(_ attackAndSubnet: (Attack, Int), _ kind: LabTransport) async throws {
    let (attack, subnet) = attackAndSubnet
    defer { kind.count(1, "symlink attack '\(attack)'") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(subnet)) { fleet in
      let before = rootFiles(fleet)
      #expect(before["root/.ssh/authorized_keys"] != nil)
      try attack.plant(fleet)
      var tried = 0
      for follow in [false, true] {
        let transport = fleet.transport(kind, hosts: Self.asRoot)
        let fetched = await transport.fetch([FetchRequest(id: Self.alice, follow: follow)])
        let next = Array((fleet.adminPublicKey + "# alice owns root now\n").utf8)
        // Whatever the fetch said, a write that expects root's current file must fail too.
        let rootBytes = try #require(fleet.bytes("\(fleet.dir)/hosts/host1/root/.ssh/authorized_keys"))
        for expected in [ContentDigest.of(rootBytes), ContentDigest.absent] {
          let outcome = await transport.write([
            WriteRequest(
              id: Self.alice, expectedDigest: expected, content: next, follow: follow, verifyLogin: false)
          ])[Self.alice]
          tried += 1
          guard case .failed(let error)? = outcome else {
            Issue.record("\(attack) follow \(follow): expected a refusal, got \(String(describing: outcome))")
            continue
          }
          #expect(
            [.permissionDenied, .symlinkRefused, .userUnknown].contains(error.code),
            "\(attack) follow \(follow): \(error.code) \(error.message)")
          #expect(error.message.contains("'alice'") || error.message.contains("symlink"), "\(error.message)")
        }
        if case .success(let observed)? = fetched[Self.alice] {
          #expect(observed.content == nil || observed.content != rootBytes, "\(attack): root's file was read")
        }
        transport.closeSessions()
      }
      #expect(rootFiles(fleet) == before, "\(attack): root's files changed")
      #expect(try await fleet.ssh("root", 1).status == 0, "root can no longer log in")
      print("act as user: '\(attack)' refused in \(tried) writes")
    }
  }

  @Test(
    "as root: a backup planted as a symlink to root's secret is never restored by 'keyward rollback'",
    arguments: LabTransport.allCases)
  func plantedBackupRollback(_ kind: LabTransport) async throws {
    defer { kind.count(1, "planted backup") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(174)) { fleet in
      let secret = "\(fleet.dir)/hosts/host1/root/secret"
      try "root's secret\n".write(toFile: secret, atomically: true, encoding: .utf8)
      chmod(secret, 0o600)
      let backup = fleet.home(1, "alice") + "/.ssh/authorized_keys.keyward-backup.29991231T000000Z"
      try FileManager.default.createSymbolicLink(atPath: backup, withDestinationPath: "/root/secret")
      lchown(backup, 2001, 2001)
      let manifest = fleet.dir + "/root.yaml"
      try "version: 1\ndefaults:\n  connect_as: root\nkeys: {}\nhosts:\n  lab1: {}\naccess: []\n".write(
        toFile: manifest, atomically: true, encoding: .utf8)
      let path = fleet.authorizedKeys(1, "alice")
      let before = fleet.bytes(path)
      let rootBefore = rootFiles(fleet)

      let rollback = try await fleet.keyward(
        [
          "rollback", "alice@lab1", "--manifest", manifest, "--auto-approve",
        ], transport: kind)
      let output = rollback.stdout + rollback.stderr
      #expect(rollback.status != 0, "\(output)")
      // The planted link is skipped (not a regular file of alice's): nothing to roll back to.
      #expect(output.contains("no keyward backup") || output.contains("symlink"), "\(output)")
      #expect(!output.contains("root's secret"))
      #expect(fleet.bytes(path) == before)
      #expect(FileFacts(path) == FileFacts(mode: 0o600, uid: 2001, gid: 2001))
      #expect(rootFiles(fleet) == rootBefore)
      #expect(try await fleet.ssh("root", 1).status == 0)
      #expect(try await fleet.ssh("alice", 1).status == 0)
    }
  }

  @Test(
    "as root on a host without sftp-server: refused with the way out, act_as_root or not; logging in as the user works",
    arguments: LabTransport.allCases)
  func noHelperNoRoot(_ kind: LabTransport) async throws {
    defer { kind.count(2, "no helper") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(193)) { fleet in
      // sftp-server gone from this host only (its sshd serves internal-sftp): an empty,
      // non-executable file over it in the host's namespace.
      let pid = try String(contentsOfFile: "\(fleet.dir)/hosts/host1/run/sshd.pid", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let empty = fleet.dir + "/no-sftp-server"
      FileManager.default.createFile(atPath: empty, contents: Data(), attributes: [.posixPermissions: 0o644])
      let hidden = try Fleet.run(
        "/usr/bin/nsenter", ["-t", pid, "-m", "mount", "--bind", empty, "/usr/lib/openssh/sftp-server"])
      #expect(hidden.status == 0, "\(hidden.output)")
      let probe = try await fleet.ssh("root", 1, "[ -x /usr/lib/openssh/sftp-server ] || echo none")
      #expect(probe.output.contains("none"), "\(probe.output)")

      let path = fleet.authorizedKeys(1, "alice")
      let before = fleet.bytes(path)
      let key = try fleet.makeKey("carol")
      for actAsRoot in [false, true] {
        let manifest = fleet.dir + "/root-\(actAsRoot).yaml"
        try """
        version: 1
        defaults: { connect_as: root, act_as_root: \(actAsRoot) }
        keys: { admin: { file: \(fleet.adminKey).pub }, carol: { file: \(key.path).pub } }
        hosts: { lab1: {} }
        access: [{ hosts: [lab1], users: [alice], keys: [admin, carol] }]

        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let apply = try await fleet.keyward(["apply", manifest, "--auto-approve"], transport: kind)
        let output = apply.stdout + apply.stderr
        #expect(apply.status != 0, "\(output)")
        #expect(output.contains("no sftp-server") && output.contains("connect as the user"), "\(output)")
        #expect(fleet.bytes(path) == before, "act_as_root \(actAsRoot)")
        #expect(FileFacts(path) == FileFacts(mode: 0o600, uid: 2001, gid: 2001))
      }
      // The way out the refusal names: alice logs in as herself, no helper needed.
      let asUser = fleet.dir + "/as-user.yaml"
      try """
      version: 1
      keys: { admin: { file: \(fleet.adminKey).pub }, carol: { file: \(key.path).pub } }
      hosts: { lab1: {} }
      access: [{ hosts: [lab1], users: [alice], keys: [admin, carol] }]

      """.write(toFile: asUser, atomically: true, encoding: .utf8)
      let apply = try await fleet.keyward(["apply", asUser, "--auto-approve"], transport: kind)
      #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
      #expect(try await fleet.ssh("alice", 1, identity: key.path).status == 0)
    }
  }

  @Test(
    "as root: alice's files are written by alice (owner, mode), and the helper runs as her",
    arguments: LabTransport.allCases)
  func writesAsTheUser(_ kind: LabTransport) async throws {
    defer { kind.count(1, "writes as the user") }
    try await Fleet.with(hosts: 1, subnet: kind.subnet(175)) { fleet in
      let path = fleet.authorizedKeys(1, "alice")
      let original = try #require(fleet.bytes(path))
      try FileManager.default.removeItem(atPath: path)
      let next = Array((fleet.adminPublicKey + "# written as alice\n").utf8)
      let transport = fleet.transport(kind, hosts: Self.asRoot)
      let outcome = await transport.write([
        WriteRequest(id: Self.alice, expectedDigest: ContentDigest.absent, content: next)
      ])[Self.alice]
      #expect(outcome == .written(digest: ContentDigest.of(next)))
      #expect(fleet.bytes(path) == next)
      #expect(FileFacts(path) == FileFacts(mode: 0o600, uid: 2001, gid: 2001))
      #expect(original != next)
      // A file only root may read, in alice's own directory: refused (by the owner rule, and
      // alice's server could not read it anyway).
      try fleet.install("ssh-ed25519 AAAA root-only\n", at: path, uid: 0, mode: 0o600)
      let fetched = await transport.fetch([FetchRequest(id: Self.alice)])
      #expect([.ownershipRefused, .permissionDenied].contains(fetched[Self.alice]?.failure?.code))
      transport.closeSessions()
      #expect(try await fleet.ssh("root", 1).status == 0)
    }
  }
}

/// The helper command is built from probed absolute paths and numeric ids only.
@Suite struct HelperCommandTests {
  @Test(arguments: [
    ("keyward-sftp-server /usr/lib/openssh/sftp-server\nkeyward-setpriv /usr/bin/setpriv\n", true, true),
    ("keyward-sftp-server /usr/libexec/sftp-server\n", true, false),
    ("keyward-setpriv /bin/setpriv\n", false, true),
    ("keyward-setpriv setpriv\nkeyward-sftp-server /tmp/x;rm -rf /\n", false, false),
    ("keyward-sftp-server /usr/lib/../../tmp/evil\nkeyward-setpriv /usr/bin/set priv\n", false, false),
    ("", false, false),
  ])
  func probeOutputIsParsedStrictly(_ output: String, _ server: Bool, _ setpriv: Bool) {
    let helpers = ActAsUser.parse(output)
    #expect((helpers.sftpServer != nil) == server)
    #expect((helpers.setpriv != nil) == setpriv)
  }

  @Test func quotingSurvivesQuotes() {
    #expect(ActAsUser.quote("/usr/bin/setpriv") == "'/usr/bin/setpriv'")
    #expect(ActAsUser.quote("a'b") == "'a'\\''b'")
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// Integration tests of the libssh2 transport against a fleet of real sshd hosts.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SSHTransportTests {
  static let users = ["alice", "bob", "deploy"]

  func transport(
    _ fleet: Fleet, hosts: [String: HostSpec] = [:], identity: String? = nil, knownHosts: String? = nil,
    acceptNew: Bool = false
  ) -> SSHTransport {
    SSHTransport(
      hosts: hosts,
      settings: SSHSettings(
        sshConfigFile: fleet.sshConfig, identityFiles: [identity ?? fleet.adminKey],
        knownHostsFile: knownHosts,
        acceptNewHostKeys: acceptNew, parallelism: 8, connectTimeout: .seconds(15),
        operationTimeout: .seconds(30),
        targetDeadline: .seconds(90), passphrase: .none, useAgent: false))
  }

  func targets(_ fleet: Fleet, users: [String] = users) -> [TargetID] {
    fleet.names.flatMap { host in users.map { TargetID(user: $0, host: host) } }
  }

  @Test("fetch and write across 5 hosts x 3 users; real ssh logins prove the result")
  func fetchAndWriteAcrossFleet() async throws {
    try await Fleet.with(hosts: 5, subnet: 211) { fleet in
      let ssh = transport(fleet)
      let ids = targets(fleet)
      let admin = try PublicKey(parsing: fleet.adminPublicKey)
      let observed = await ssh.fetch(ids.map { FetchRequest(id: $0) })
      #expect(observed.count == 15)
      for id in ids {
        let target = try #require(try? observed[id]?.get(), "\(id): \(String(describing: observed[id]))")
        #expect(target.content == Array(fleet.adminPublicKey.utf8))
        #expect(target.absolutePath == "/home/\(id.user)/.ssh/authorized_keys")
        #expect(target.home == "/home/\(id.user)")
        #expect(target.uid == Fleet.uids[id.user])
        #expect(target.file?.mode == 0o600)
        #expect(target.directory?.isDirectory == true)
        #expect(target.loginKeyFingerprint == admin.fingerprint)
      }

      let granted = try fleet.makeKey("granted")
      let withGranted = fleet.adminPublicKey + granted.publicLine + "\n"
      let writes = ids.map { id in
        WriteRequest(
          id: id, expectedDigest: (try? observed[id]?.get())?.digest ?? "", content: Array(withGranted.utf8))
      }
      let outcomes = await ssh.write(writes)
      for id in ids {
        #expect(outcomes[id] == .written(digest: ContentDigest.of(Array(withGranted.utf8))), "\(id)")
      }
      for (index, user) in [(1, "alice"), (3, "bob"), (5, "deploy")] {
        #expect(try await fleet.ssh(user, index, identity: granted.path).status == 0)
        #expect(FileFacts(fleet.authorizedKeys(index, user))?.uid == Fleet.uids[user])
        #expect(FileFacts(fleet.authorizedKeys(index, user))?.mode == 0o600)
      }

      // Remove the key again: it no longer logs in, the admin key still does.
      let second = await ssh.write(
        ids.map {
          WriteRequest(
            id: $0, expectedDigest: ContentDigest.of(Array(withGranted.utf8)),
            content: Array(fleet.adminPublicKey.utf8))
        })
      #expect(second.values.allSatisfy { if case .written = $0 { true } else { false } })
      #expect(try await fleet.ssh("bob", 2, identity: granted.path).status != 0)
      #expect(try await fleet.ssh("bob", 2).status == 0)
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: fleet.home(2, "bob") + "/.ssh")
      // Only the file and the backups of the two versions it replaced (no temp or lock file).
      #expect(leftovers.filter { !$0.hasPrefix("authorized_keys.keyward-backup.") } == ["authorized_keys"])
      #expect(Backup.backups(of: "authorized_keys", in: leftovers).count >= 1)
    }
  }

  @Test("a changed host key is refused with both fingerprints while the other hosts are read")
  func changedHostKeyRefused() async throws {
    try await Fleet.with(hosts: 3, subnet: 212) { fleet in
      let impostor = try fleet.makeKey("impostor")
      let edited = try fleet.knownHosts("known_hosts.edited", impostor: 2, publicLine: impostor.publicLine)
      let result = await transport(fleet, knownHosts: edited).fetch(
        targets(fleet, users: ["alice"]).map { FetchRequest(id: $0) })
      let failure = try #require(result[TargetID(user: "alice", host: "lab2")]).failure
      #expect(failure?.code == .hostKeyChanged)
      #expect(failure?.step == .hostkey)
      let impostorFingerprint = try PublicKey(parsing: impostor.publicLine).fingerprint
      #expect(failure?.message.contains(impostorFingerprint) == true)
      let known = try String(contentsOfFile: fleet.knownHosts, encoding: .utf8)
      let realLine = known.split(separator: "\n").first { $0.hasPrefix("lab2,") && $0.contains("ed25519") }
      let realKey = try PublicKey(
        parsing: String(try #require(realLine).split(separator: " ", maxSplits: 1)[1]))
      #expect(failure?.message.contains(realKey.fingerprint) == true)
      #expect((try? result[TargetID(user: "alice", host: "lab1")]?.get()) != nil)
      #expect((try? result[TargetID(user: "alice", host: "lab3")]?.get()) != nil)

      // The hint is the command that removes the entry from the file keyward read: run as
      // given, the host is unknown instead of changed (nothing else in the file is touched).
      let message = try #require(failure?.message)
      let command = try #require(message.firstMatch(of: /'(ssh-keygen -R [^']+)'/)?.output.1)
      #expect(command == "ssh-keygen -R \(fleet.address(2)) -f \(edited)")
      let removed = try Fleet.run("/bin/sh", ["-c", String(command)])
      #expect(removed.status == 0, "\(removed.output)")
      let after = await transport(fleet, knownHosts: edited).fetch([
        FetchRequest(id: TargetID(user: "alice", host: "lab2"))
      ])
      #expect(after[TargetID(user: "alice", host: "lab2")]?.failure?.code == .hostKeyUnknown)
      #expect(
        (try? await transport(fleet, knownHosts: edited).fetch([
          FetchRequest(id: TargetID(user: "alice", host: "lab1"))
        ])[TargetID(user: "alice", host: "lab1")]?.get()) != nil)
    }
  }

  @Test("hashed known_hosts holding only ed25519 keys: the handshake asks for ed25519 and the hosts match")
  func hashedKnownHostsWithOneKeyType() async throws {
    try await Fleet.with(hosts: 2, subnet: 219) { fleet in
      let known = try String(contentsOfFile: fleet.knownHosts, encoding: .utf8)
      let edOnly = fleet.dir + "/known_hosts.ed25519"
      let lines = known.split(separator: "\n").filter { $0.contains("ssh-ed25519") }
      try (lines.joined(separator: "\n") + "\n").write(toFile: edOnly, atomically: true, encoding: .utf8)
      #expect(try Fleet.run("/usr/bin/ssh-keygen", ["-q", "-H", "-f", edOnly]).status == 0)
      let hashed = try String(contentsOfFile: edOnly, encoding: .utf8)
      #expect(hashed.hasPrefix("|1|") && !hashed.contains("lab1"))
      // libssh2 1.10 would pick ecdsa by default, which this file does not know: a false "changed".
      let ids = targets(fleet, users: ["deploy"])
      let result = await transport(fleet, knownHosts: edOnly).fetch(ids.map { FetchRequest(id: $0) })
      for id in ids { #expect((try? result[id]?.get()) != nil, "\(id): \(String(describing: result[id]))") }
    }
  }

  @Test("an unknown host is refused unless new host keys are accepted; then one line is appended")
  func unknownHostKey() async throws {
    try await Fleet.with(hosts: 2, subnet: 213) { fleet in
      let known = try String(contentsOfFile: fleet.knownHosts, encoding: .utf8)
      let partial = fleet.dir + "/known_hosts.partial"
      let kept = known.split(separator: "\n").filter { !$0.hasPrefix("lab2,") }.joined(separator: "\n") + "\n"
      try kept.write(toFile: partial, atomically: true, encoding: .utf8)
      let id = TargetID(user: "alice", host: "lab2")
      let refused = await transport(fleet, knownHosts: partial).fetch([FetchRequest(id: id)])
      #expect(refused[id]?.failure?.code == .hostKeyUnknown)
      let accepted = await transport(fleet, knownHosts: partial, acceptNew: true).fetch([FetchRequest(id: id)]
      )
      #expect((try? accepted[id]?.get()) != nil)
      let after = try String(contentsOfFile: partial, encoding: .utf8)
      #expect(after.hasPrefix(kept))
      #expect(after.dropFirst(kept.count).split(separator: "\n").count == 1)
      let again = await transport(fleet, knownHosts: partial).fetch([FetchRequest(id: id)])
      #expect((try? again[id]?.get()) != nil)
    }
  }

  @Test("an unreachable host and a host that rejects the key fail per target; the others succeed")
  func unreachableAndRejected() async throws {
    try await Fleet.with(hosts: 3, subnet: 214) { fleet in
      try fleet.install("", at: fleet.authorizedKeys(2, "alice"), uid: 2001)
      let hosts = ["ghost": HostSpec(name: "ghost", hostname: "127.0.\(fleet.subnet).200")]
      let ids = targets(fleet, users: ["alice"]) + [TargetID(user: "alice", host: "ghost")]
      let result = await transport(fleet, hosts: hosts).fetch(ids.map { FetchRequest(id: $0) })
      let ghost = result[TargetID(user: "alice", host: "ghost")]?.failure
      #expect(ghost?.code == .unreachable)
      #expect(ghost?.step == .connect)
      #expect(ghost?.host == "ghost")
      let rejected = result[TargetID(user: "alice", host: "lab2")]?.failure
      #expect(rejected?.code == .authFailed)
      #expect(rejected?.step == .auth)
      #expect((try? result[TargetID(user: "alice", host: "lab1")]?.get()) != nil)
      #expect((try? result[TargetID(user: "alice", host: "lab3")]?.get()) != nil)
    }
  }

  @Test("a session the server dropped between fetch and write is opened again")
  func droppedSessionReopened() async throws {
    try await Fleet.with(hosts: 2, subnet: 220) { fleet in
      let ssh = transport(fleet)
      let id = TargetID(user: "alice", host: "lab2")
      let observed = try #require(try await ssh.fetch([FetchRequest(id: id)])[id]?.get())
      try await fleet.restart()
      let content = Array((fleet.adminPublicKey + "# after restart\n").utf8)
      let outcome = await ssh.write([WriteRequest(id: id, expectedDigest: observed.digest, content: content)])
      #expect(
        outcome[id] == .written(digest: ContentDigest.of(content)), "\(String(describing: outcome[id]))")
    }
  }

  @Test("a stale expected digest leaves the file untouched")
  func staleDigest() async throws {
    try await Fleet.with(hosts: 1, subnet: 215) { fleet in
      let id = TargetID(user: "bob", host: "lab1")
      let before = try Data(contentsOf: URL(fileURLWithPath: fleet.authorizedKeys(1, "bob")))
      let outcome = await transport(fleet).write([
        WriteRequest(
          id: id, expectedDigest: ContentDigest.of(Array("old".utf8)), content: Array("new\n".utf8))
      ])
      #expect(outcome[id] == .stale(currentDigest: ContentDigest.of(Array(before))))
      let after = try Data(contentsOf: URL(fileURLWithPath: fleet.authorizedKeys(1, "bob")))
      #expect(after == before)
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: fleet.home(1, "bob") + "/.ssh") == [
          "authorized_keys"
        ])

      // A plan that saw a file where there is no ~/.ssh at all is stale too, and creates nothing.
      let gone = fleet.home(1, "deploy") + "/.ssh"
      try FileManager.default.removeItem(atPath: gone)
      let deploy = TargetID(user: "deploy", host: "lab1")
      let asRoot = transport(fleet, hosts: ["lab1": HostSpec(name: "lab1", connectAs: "root")])
      let missing = await asRoot.write([
        WriteRequest(
          id: deploy, expectedDigest: ContentDigest.of(Array(before)), content: Array("new\n".utf8))
      ])
      #expect(missing[deploy] == .stale(currentDigest: ContentDigest.absent))
      #expect(!FileManager.default.fileExists(atPath: gone))
    }
  }

  @Test("connect_as root manages alice, bob and deploy with their ownership; a missing ~/.ssh is created")
  func connectAsRoot() async throws {
    try await Fleet.with(hosts: 3, subnet: 216) { fleet in
      try FileManager.default.removeItem(atPath: fleet.home(1, "alice") + "/.ssh")
      let hosts = Dictionary(
        uniqueKeysWithValues: fleet.names.map { ($0, HostSpec(name: $0, connectAs: "root")) })
      let ssh = transport(fleet, hosts: hosts)
      let ids = targets(fleet) + [TargetID(user: "carol", host: "lab3")]
      let observed = await ssh.fetch(ids.map { FetchRequest(id: $0) })
      #expect(observed[TargetID(user: "carol", host: "lab3")]?.failure?.code == .userUnknown)
      let missing = try #require(try observed[TargetID(user: "alice", host: "lab1")]?.get())
      #expect(missing.content == nil)
      #expect(missing.digest == ContentDigest.absent)
      #expect(missing.directory == nil)
      // The login account (root) and its key come with every target: the planner guards the key
      // on root's own files, not on alice's.
      #expect(missing.loginKeyFingerprint != nil)
      #expect(missing.loginUser == "root")
      #expect(missing.loginHome == "/root")
      let key = try fleet.makeKey("managed")
      let content = Array((key.publicLine + "\n").utf8)
      let requests = targets(fleet).map { id in
        WriteRequest(id: id, expectedDigest: (try? observed[id]?.get())?.digest ?? "", content: content)
      }
      let outcomes = await ssh.write(requests)
      for request in requests { #expect(outcomes[request.id] == .written(digest: ContentDigest.of(content))) }
      for index in 1...3 {
        for user in Self.users {
          let uid = try #require(Fleet.uids[user])
          #expect(FileFacts(fleet.authorizedKeys(index, user)) == FileFacts(mode: 0o600, uid: uid, gid: uid))
          #expect(FileFacts(fleet.home(index, user) + "/.ssh")?.uid == uid)
        }
      }
      #expect(FileFacts(fleet.home(1, "alice") + "/.ssh") == FileFacts(mode: 0o700, uid: 2001, gid: 2001))
      for user in Self.users {
        #expect(try await fleet.ssh(user, 1, identity: key.path).status == 0, "\(user)")
      }
      #expect(try await fleet.ssh("alice", 2).status != 0)
    }
  }

  @Test("a jump host route works, and it is really used: a dead jump host fails the target")
  func jumpHost() async throws {
    try await Fleet.with(hosts: 3, subnet: 217) { fleet in
      let id = TargetID(user: "deploy", host: "lab3")
      let viaJump = ["lab3": HostSpec(name: "lab3", jump: "root@lab1")]
      let result = await transport(fleet, hosts: viaJump).fetch([FetchRequest(id: id)])
      let target = try #require(try result[id]?.get())
      #expect(target.content == Array(fleet.adminPublicKey.utf8))
      let content = Array((fleet.adminPublicKey + "# via jump\n").utf8)
      let written = await transport(fleet, hosts: viaJump).write([
        WriteRequest(id: id, expectedDigest: target.digest, content: content)
      ])
      #expect(written[id] == .written(digest: ContentDigest.of(content)))
      #expect(try Data(contentsOf: URL(fileURLWithPath: fleet.authorizedKeys(3, "deploy"))) == Data(content))

      let deadJump = [
        "lab3": HostSpec(name: "lab3", jump: "ghost"),
        "ghost": HostSpec(name: "ghost", hostname: "127.0.\(fleet.subnet).200"),
      ]
      let failed = await transport(fleet, hosts: deadJump).fetch([FetchRequest(id: id)])
      #expect(failed[id]?.failure?.code == .unreachable)
      #expect(failed[id]?.failure?.message.contains("jump host 'ghost'") == true)

      // The jump host's own key is verified: an impostor jump host stops the route.
      let impostor = try fleet.makeKey("impostor")
      let edited = try fleet.knownHosts("known_hosts.jump", impostor: 1, publicLine: impostor.publicLine)
      let refused = await transport(fleet, hosts: viaJump, knownHosts: edited).fetch([FetchRequest(id: id)])
      #expect(refused[id]?.failure?.code == .hostKeyChanged)
      #expect(refused[id]?.failure?.message.contains("jump host 'root@lab1'") == true)
    }
  }

  @Test("a symlinked authorized_keys is refused unless follow is set")
  func symlinkRefused() async throws {
    try await Fleet.with(hosts: 1, subnet: 218) { fleet in
      let path = fleet.authorizedKeys(1, "alice")
      let real = fleet.home(1, "alice") + "/.ssh/real_keys"
      try FileManager.default.moveItem(atPath: path, toPath: real)
      try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "real_keys")
      // The key must still log in through the symlink for the test to mean anything.
      let id = TargetID(user: "alice", host: "lab1")
      let refused = await transport(fleet).fetch([FetchRequest(id: id)])
      #expect(refused[id]?.failure?.code == .symlinkRefused)
      let followed = await transport(fleet).fetch([FetchRequest(id: id, follow: true)])
      let target = try #require(try followed[id]?.get())
      #expect(target.absolutePath == "/home/alice/.ssh/real_keys")
      let write = await transport(fleet).write([
        WriteRequest(id: id, expectedDigest: target.digest, content: Array("x\n".utf8))
      ])
      #expect(write[id]?.failureCode == "symlink-refused")
      #expect(FileFacts(path).map { $0.mode } != nil)

      // A symlinked ~/.ssh is refused the same way (read as root: sshd itself would refuse bob).
      let bobSSH = fleet.home(1, "bob") + "/.ssh"
      try FileManager.default.moveItem(atPath: bobSSH, toPath: bobSSH + "-real")
      try FileManager.default.createSymbolicLink(atPath: bobSSH, withDestinationPath: ".ssh-real")
      let bob = TargetID(user: "bob", host: "lab1")
      let asRoot = transport(fleet, hosts: ["lab1": HostSpec(name: "lab1", connectAs: "root")])
      let dirRefused = await asRoot.fetch([FetchRequest(id: bob)])
      #expect(dirRefused[bob]?.failure?.code == .symlinkRefused)
      let dirWrite = await asRoot.write([
        WriteRequest(id: bob, expectedDigest: ContentDigest.absent, content: Array("x\n".utf8))
      ])
      #expect(dirWrite[bob]?.failureCode == "symlink-refused")
    }
  }
}

extension Result {
  var failure: Failure? {
    if case .failure(let error) = self { return error }
    return nil
  }
}

extension WriteOutcome {
  var failureCode: String? {
    if case .failed(let error) = self { return error.code.rawValue }
    return nil
  }
}

extension FileFacts {
  init(mode: UInt32, uid: UInt32, gid: UInt32) {
    self.init("/")!
    self.mode = mode
    self.uid = uid
    self.gid = gid
  }
}

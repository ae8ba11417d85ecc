import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardOpenSSH
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The OpenSSH-client transport against real sshd hosts: reads, writes (as the user and as root
/// acting for the user), the sshd model, and no `ssh` process left behind.
@Suite(.enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct OpenSSHTransportTests {
  @Test("fetch and write 2 hosts x 3 users as each user and as root; logins prove it; no ssh left")
  func fetchAndWrite() async throws {
    try await Fleet.with(hosts: 2, subnet: 110) { fleet in
      let admin = try PublicKey(parsing: fleet.adminPublicKey)
      let granted = try fleet.makeKey("granted")
      for asRoot in [false, true] {
        let hosts =
          asRoot
          ? Dictionary(uniqueKeysWithValues: fleet.names.map { ($0, HostSpec(name: $0, connectAs: "root")) })
          : [:]
        let ssh = fleet.transport(.openssh, hosts: hosts) as! OpenSSHTransport
        let ids = fleet.names.flatMap { host in
          ["alice", "bob", "deploy"].map { TargetID(user: $0, host: host) }
        }
        let observed = await ssh.fetch(ids.map { FetchRequest(id: $0) })
        for id in ids {
          let target = try #require(try? observed[id]?.get(), "\(id): \(String(describing: observed[id]))")
          #expect(target.home == "/home/\(id.user)")
          #expect(target.uid == Fleet.uids[id.user])
          #expect(target.loginKeyFingerprint == admin.fingerprint)
        }
        let content = Array((fleet.adminPublicKey + granted.publicLine + (asRoot ? " root\n" : "\n")).utf8)
        let writes = ids.map { id in
          WriteRequest(id: id, expectedDigest: (try? observed[id]?.get())?.digest ?? "", content: content)
        }
        let outcomes = await ssh.write(writes)
        for id in ids { #expect(outcomes[id] == .written(digest: ContentDigest.of(content)), "\(id)") }
        #expect(!ssh.masterPIDs.isEmpty)
        let masters = ssh.masterPIDs
        ssh.close()
        for pid in masters { #expect(kill(pid, 0) != 0, "master \(pid) still running") }
        #expect(fleet.sshProcesses().isEmpty, "\(fleet.sshProcesses())")
        for index in 1...2 {
          for user in ["alice", "bob", "deploy"] {
            #expect(
              try await fleet.ssh(user, index, identity: granted.path).status == 0, "\(user)@lab\(index)")
            #expect(FileFacts(fleet.authorizedKeys(index, user))?.uid == Fleet.uids[user])
          }
        }
      }
    }
  }

  @Test(
    "a host that never answers, a master that dies between reading and writing, a session that hangs mid-write: those targets fail with a reason or converge, the file is whole, the others converge"
  )
  func hungAndDyingConnections() async throws {
    try await Fleet.with(hosts: 3, subnet: 111) { fleet in
      let asRoot = Dictionary(
        uniqueKeysWithValues: fleet.names.map { ($0, HostSpec(name: $0, connectAs: "root")) })
      let ids = fleet.names.map { TargetID(user: "alice", host: $0) }
      let ssh = try #require(fleet.transport(.openssh, hosts: asRoot) as? OpenSSHTransport)
      defer { ssh.close() }
      // lab2's sshd is stopped: the TCP connection is accepted, no banner ever comes.
      let listener = try fleet.listenerPID(2)
      kill(listener, SIGSTOP)
      let start = ContinuousClock.now
      let observed = await ssh.fetch(ids.map { FetchRequest(id: $0) })
      kill(listener, SIGCONT)
      // Bounded (ConnectTimeout 3 s, login timeout 30 s), not hanging; generous for a loaded machine.
      #expect(ContinuousClock.now - start < .seconds(120))
      let hung = try #require(observed[ids[1]]?.failure, "\(String(describing: observed[ids[1]]))")
      #expect(
        hung.message.contains("ssh could not log in") && hung.message.lowercased().contains("timed out"),
        "\(hung)")
      print("hung host: \(hung)")
      for id in [ids[0], ids[2]] {
        #expect((try? observed[id]?.get()) != nil, "\(id): \(String(describing: observed[id]))")
      }

      // Every master dies before the writes: the next write logs in again.
      let masters = ssh.masterPIDs
      #expect(masters.count == 2)
      for pid in masters { kill(pid, SIGKILL) }
      let granted = try fleet.makeKey("granted")
      let content = Array((fleet.adminPublicKey + granted.publicLine + "\n").utf8)
      let original = Array(fleet.adminPublicKey.utf8)
      let requests = [ids[0], ids[2]].map {
        WriteRequest(id: $0, expectedDigest: ContentDigest.of(original), content: content)
      }
      let written = await ssh.write(requests)
      for id in [ids[0], ids[2]] {
        #expect(written[id] == .written(digest: ContentDigest.of(content)), "\(id)")
      }
      #expect(try await fleet.ssh("alice", 1, identity: granted.path).status == 0)

      // lab3's sessions hang mid-run (SIGSTOP): the write there fails within the operation
      // timeout with a reason; lab1's converges; lab3's file is unchanged or complete.
      let next = Array((fleet.adminPublicKey + granted.publicLine + "\n# next\n").utf8)
      let stopped = fleet.sessionPIDs(3)
      #expect(!stopped.isEmpty)
      for pid in stopped { kill(pid, SIGSTOP) }
      let again = await ssh.write(
        [ids[0], ids[2]].map {
          WriteRequest(id: $0, expectedDigest: ContentDigest.of(content), content: next)
        })
      for pid in stopped { kill(pid, SIGCONT) }
      #expect(again[ids[0]] == .written(digest: ContentDigest.of(next)))
      #expect(again[ids[2]]?.failureCode == "deadline-exceeded", "\(String(describing: again[ids[2]]))")
      let stuck = again[ids[2]].map { String(describing: $0) } ?? ""
      print("hung session: \(stuck)")
      let now = fleet.bytes(fleet.authorizedKeys(3, "alice"))
      #expect(now == content || now == next)
      ssh.close()
      #expect(fleet.sshProcesses().isEmpty, "\(fleet.sshProcesses())")
    }
  }
}

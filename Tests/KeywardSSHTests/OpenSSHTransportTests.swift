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
        #expect(SSHProcesses.running.isEmpty, "\(SSHProcesses.running)")
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
}

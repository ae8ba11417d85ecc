import Foundation
import KeywardTestSupport
import Testing

/// `scripts/fleet` itself: real hosts with their own accounts, nothing of this machine touched,
/// no second lab over a running one, and nothing left running after `down`.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct FleetScriptTests {
  @Test func hostsHaveTheirOwnAccountsAndStopCleanly() async throws {
    let passwd = try Data(contentsOf: URL(fileURLWithPath: "/etc/passwd"))
    let homes = try FileManager.default.contentsOfDirectory(atPath: "/home").sorted()
    let rootSSH = (try? FileManager.default.contentsOfDirectory(atPath: "/root/.ssh"))?.sorted()
    var labDir = ""
    try await Fleet.with(hosts: 3, subnet: 236) { fleet in
      labDir = fleet.dir
      let login = try await fleet.ssh("alice", 2, "id -u; hostname; grep -c . /etc/passwd")
      #expect(login.status == 0, "\(login.output)")
      #expect(login.output.split(separator: "\n") == ["2001", "lab2", "6"])
      let root = try await fleet.ssh("root", 3, "id -u; ls /root/.ssh")
      #expect(root.output.split(separator: "\n") == ["0", "authorized_keys"])

      // A file written on one host is that host's alone.
      try fleet.install(fleet.adminPublicKey + "# lab1 only\n", at: fleet.authorizedKeys(1, "bob"), uid: 2002)
      let seen = try await fleet.ssh("bob", 2, "cat .ssh/authorized_keys")
      #expect(!seen.output.contains("lab1 only"))

      let again = try await Fleet.offPool {
        try Fleet.run(Fleet.script, ["up", "1", fleet.dir, "--subnet", "236"])
      }
      #expect(again.status != 0)
      #expect(again.output.contains("already running"))
      #expect(
        try await fleet.ssh("deploy", 1).status == 0, "the refused second 'up' must leave the lab running")
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: "/etc/passwd")) == passwd)
    #expect(try FileManager.default.contentsOfDirectory(atPath: "/home").sorted() == homes)
    #expect((try? FileManager.default.contentsOfDirectory(atPath: "/root/.ssh"))?.sorted() == rootSSH)
    let survivors = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { pid in
      guard Int(pid) != nil,
        let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
      else { return false }
      return String(decoding: cmdline, as: UTF8.self).contains(labDir + "/")
    }
    #expect(survivors.isEmpty, "processes of the lab still running: \(survivors)")
  }
}

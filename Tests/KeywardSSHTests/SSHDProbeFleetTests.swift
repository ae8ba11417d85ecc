import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// The sshd-model probe script, run on a real host by the real `ssh` as root and as a user,
/// against what the host itself answers: every account's groups equal `id -Gn USER` there, with
/// coreutils' `groups` and with a one-user `groups` (as busybox's) that makes the script fall
/// back to `id -Gn` per user.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SSHDProbeFleetTests {
  @Test("probe's accounts and groups equal the host's own id -Gn (both groups commands, root and user)")
  func groupsMatchTheHost() async throws {
    // A drop-in with a Match block, a backslash, leading blanks and no newline at its end.
    let dropIn =
      "Match User bob\n  AuthorizedKeysFile .ssh/keys\\ of\\ bob %h/.ssh/second\n\tPasswordAuthentication no"
    try await Fleet.with(hosts: 1, subnet: 195, sshdConfig: [1: dropIn]) { fleet in
      // Supplementary groups: alice in two, bob in one, deploy in none.
      let group = "\(fleet.dir)/hosts/host1/etc/group"
      var text = try String(contentsOfFile: group, encoding: .utf8)
      text += "ops:x:3001:alice,bob\nwheel:x:3002:alice\n"
      try text.write(toFile: group, atomically: false, encoding: .utf8)

      var expected: [String: [String]] = [:]
      for user in ["root", "alice", "bob", "deploy"] {
        let answer = try await fleet.ssh("root", 1, "id -Gn \(user)")
        #expect(answer.status == 0, "\(answer.output)")
        expected[user] = answer.output.split(whereSeparator: \.isWhitespace).map(String.init)
      }
      #expect(expected["alice"]?.contains("wheel") == true && expected["deploy"] == ["deploy"])

      var compared = 0
      func check(_ variant: String) async throws {
        for login in ["root", "alice"] {
          for allAccounts in [false, true] {
            let users = ["alice", "bob", "deploy", "nosuchuser"]
            let script = SSHDProbe.script(users: users, allAccounts: allAccounts)
            let run = try await fleet.ssh(login, 1, script)
            #expect(run.status == 0, "\(variant) \(login): \(run.output)")
            let output = SSHDProbe.parse(run.output)
            #expect(output.uid == Fleet.uids[login], "\(variant) \(login)")
            #expect(output.accounts["nosuchuser"] == nil)
            let wanted = allAccounts ? ["root", "alice", "bob", "deploy"] : ["alice", "bob", "deploy"]
            #expect(Set(output.accounts.keys).isSuperset(of: wanted), "\(variant) \(login) \(allAccounts)")
            for user in wanted {
              #expect(
                output.accounts[user]?.groups == expected[user],
                "\(variant) login \(login) allAccounts \(allAccounts): \(user)")
              compared += 1
            }
            // As root, sshd -T answered for every user asked about; as a user, the script
            // printed the config files and the drop-in directory as they are on the host.
            if login == "root" {
              #expect(Set(output.settings.keys).isSuperset(of: wanted), "\(output.failures)")
              #expect(output.configFiles.isEmpty)
            } else {
              try checkPrintedConfig(output, fleet)
            }
          }
        }
      }
      try await check("coreutils groups")

      // A `groups` that takes one user and prints no `user :` prefix, in this host's mount
      // namespace only: the script must fall back to `id -Gn` per user.
      let pid = try String(contentsOfFile: "\(fleet.dir)/hosts/host1/run/sshd.pid", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let fake = "\(fleet.dir)/one-user-groups"
      try "#!/bin/sh\nexec id -Gn \"$1\"\n".write(toFile: fake, atomically: true, encoding: .utf8)
      chmod(fake, 0o755)
      let mounted = try Fleet.run(
        "/usr/bin/nsenter", ["-t", pid, "-m", "mount", "--bind", fake, "/usr/bin/groups"])
      #expect(mounted.status == 0, "\(mounted.output)")
      let shadowed = try await fleet.ssh("root", 1, "groups alice bob")
      #expect(!shadowed.output.contains(" : "), "the one-user groups is not in place: \(shadowed.output)")
      try await check("one-user groups")
      print("probe groups compared with the host's id -Gn: \(compared)")
      #expect(compared == 28)
    }
  }

  /// The files and listing the probe printed equal the host's own (as the host's bind mounts
  /// show them from outside); a file without a final newline gains one.
  func checkPrintedConfig(_ output: SSHDProbe.Output, _ fleet: Fleet) throws {
    let main = try String(contentsOfFile: "\(fleet.dir)/hosts/host1/sshd_config", encoding: .utf8)
    #expect(output.configFiles["/etc/ssh/sshd_config"] == main)
    let directory = fleet.sshdConfigDirectory(1)
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    #expect(output.listings["/etc/ssh/sshd_config.d"]?.sorted() == names.sorted())
    var conf = 0
    for name in names where name.hasSuffix(".conf") {
      var text = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
      if !text.hasSuffix("\n") { text += "\n" }
      #expect(output.configFiles["/etc/ssh/sshd_config.d/\(name)"] == text, "\(name)")
      conf += 1
    }
    #expect(conf >= 1)
    // Evaluated from the printed files, bob's AuthorizedKeysFile is the Match block's (with
    // its escaped blanks read as sshd reads them).
    let config = try #require(SSHDConfig.load(reader: ProbedConfigReader(output, fallback: NoConfig())))
    let bob = SSHDConfigEvaluator.evaluate(config, connection: SSHDConnection(user: "bob"))
    #expect(
      bob.authorizedKeysFiles == [".ssh/keys of bob", "%h/.ssh/second"], "\(bob.authorizedKeysFiles)")
  }

  /// A reader that has nothing: whatever the probe did not print is missing.
  struct NoConfig: SSHDConfigReader {
    func read(_ path: String) -> String? { nil }
    func list(_ directory: String) -> [String]? { nil }
  }
}

import Foundation
import KeywardTestSupport
import Testing

/// The pull-mode recipe (`contrib/pull/keyward-pull`) run for real inside a fleet host's own
/// namespace (over ssh as its root): a git checkout of the manifests, a signed commit applied,
/// an unsigned one and one signed by an untrusted key refused while verification is on.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct PullModeFleetTests {
  static let script = Fleet.packageRoot + "/contrib/pull/keyward-pull"

  @Test("pull mode: signed commits converge the host, unsigned or untrusted ones are refused")
  func pullMode() async throws {
    try await Fleet.with(hosts: 1, subnet: 165) { fleet in
      let dir = fleet.dir
      _ = try fleet.makeKey("ann")
      _ = try fleet.makeKey("ben")
      let signer = try fleet.makeKey("signer")
      let stranger = try fleet.makeKey("stranger")
      try "keyward@example.com namespaces=\"git\" \(signer.publicLine)\n".write(
        toFile: dir + "/allowed_signers", atomically: true, encoding: .utf8)

      let origin = dir + "/origin.git"
      let work = dir + "/work"
      func git(_ args: [String], in directory: String = work) throws -> (status: Int32, output: String) {
        try Fleet.run(
          "/usr/bin/env",
          [
            "git", "-C", directory, "-c", "user.name=Keyward Test", "-c", "user.email=keyward@example.com",
            "-c", "gpg.format=ssh", "-c", "commit.gpgsign=false",
          ] + args)
      }
      #expect(
        try Fleet.run("/usr/bin/env", ["git", "init", "-q", "--bare", "-b", "main", origin]).status == 0)
      #expect(try Fleet.run("/usr/bin/env", ["git", "init", "-q", "-b", "main", work]).status == 0)
      try FileManager.default.copyItem(atPath: fleet.adminKey + ".pub", toPath: work + "/admin.pub")
      try FileManager.default.copyItem(atPath: dir + "/ann.pub", toPath: work + "/ann.pub")
      try FileManager.default.copyItem(atPath: dir + "/ben.pub", toPath: work + "/ben.pub")
      func commit(keys: [String], signingKey: String?) throws {
        try """
        version: 1
        keys:
          admin: { file: admin.pub }
          ann: { file: ann.pub }
          ben: { file: ben.pub }
        hosts:
          lab1: {}
        access:
          - { hosts: [lab1], users: [alice], keys: [\(keys.joined(separator: ", "))] }

        """.write(toFile: work + "/keys.yaml", atomically: true, encoding: .utf8)
        #expect(try git(["add", "."]).status == 0)
        var args = ["commit", "-q", "-m", "grant \(keys.joined(separator: " "))"]
        if let signingKey { args = ["-c", "user.signingkey=\(signingKey)"] + args + ["-S"] }
        let made = try git(args)
        #expect(made.status == 0, "\(made.output)")
        #expect(try git(["push", "-q", origin, "HEAD:main"]).status == 0)
      }
      func head() throws -> String {
        try git(["rev-parse", "HEAD"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
      }
      func pull(verify: Bool = true) async throws -> (status: Int32, output: String) {
        let settings = [
          "KEYWARD_REPO=\(origin)", "KEYWARD_CHECKOUT=\(dir)/checkout", "KEYWARD_STATE=\(dir)/pull-state",
          "KEYWARD_VERIFY_COMMITS=\(verify ? "yes" : "no")", "KEYWARD_ALLOWED_SIGNERS=\(dir)/allowed_signers",
          "KEYWARD=\(KeywardProcess.executable.path)",
        ]
        // Inside lab1's namespace: its /etc/passwd, its /home.
        return try await fleet.ssh(
          "root", 1, "env \(settings.joined(separator: " ")) sh \(Self.script) --host lab1")
      }
      func checkedOut() throws -> String {
        try Fleet.run("/usr/bin/env", ["git", "-C", dir + "/checkout", "rev-parse", "HEAD"]).output
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }

      try commit(keys: ["admin", "ann"], signingKey: signer.path)
      let signed = try head()
      let first = try await pull()
      #expect(first.status == 2, "\(first.output)")
      #expect(try await fleet.ssh("alice", 1, identity: dir + "/ann").status == 0)
      #expect(try checkedOut() == signed)
      let report = try String(contentsOfFile: dir + "/pull-state/last-run.json", encoding: .utf8)
      #expect(report.contains("\"revision\" : \"\(signed)\""), "\(report)")
      let samples = try Prometheus.parse(dir + "/pull-state/keyward.prom")
      #expect(samples["keyward_targets{command=apply,outcome=applied}"] == 1)
      let written = try String(contentsOfFile: fleet.authorizedKeys(1, "alice"), encoding: .utf8)
      #expect(written.contains(" revision=\(signed) "))

      // An unsigned commit is refused: nothing applied, the checkout stays.
      try commit(keys: ["admin", "ann", "ben"], signingKey: nil)
      let unsigned = try await pull()
      #expect(unsigned.status == 3, "\(unsigned.output)")
      #expect(unsigned.output.contains("refusing \(try head())"), "\(unsigned.output)")
      #expect(try await fleet.ssh("alice", 1, identity: dir + "/ben").status != 0)
      #expect(try checkedOut() == signed)

      // Signed, but by a key nobody trusts: refused too.
      try commit(keys: ["admin", "ben"], signingKey: stranger.path)
      #expect(try await pull().status == 3)
      #expect(try await fleet.ssh("alice", 1, identity: dir + "/ben").status != 0)

      // A trusted signature on the next commit: applied, ben can log in.
      try commit(keys: ["admin", "ann", "ben"], signingKey: signer.path)
      let trusted = try await pull()
      #expect(trusted.status == 2, "\(trusted.output)")
      #expect(try await fleet.ssh("alice", 1, identity: dir + "/ben").status == 0)
      #expect(try checkedOut() == (try head()))

      // Nothing new: nothing to do.
      #expect(try await pull().status == 0)
    }
  }
}

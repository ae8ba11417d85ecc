import AuthorizedKeys
import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Hosts whose sshd configs differ: `report` names every way in, and plan/apply manage the
/// file sshd really reads, proved with real `ssh` logins.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SSHDModelFleetTests {
  /// lab1: alice and bob read .ssh/managed_keys (a Match block); lab2: Debian's two files;
  /// lab3: a user CA with a principals file; lab4: an AuthorizedKeysCommand; lab5: passwords;
  /// lab6: DenyUsers bob.
  static let configs: [Int: String] = [
    1: "Match User alice,bob\n  AuthorizedKeysFile .ssh/managed_keys\n",
    2: "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2\nLogLevel INFO\n",
    3: "TrustedUserCAKeys /etc/ssh/sshd_config.d/user_ca.pub\nAuthorizedPrincipalsFile .ssh/principals\n",
    4: "AuthorizedKeysCommand /etc/ssh/sshd_config.d/akc.sh %u\nAuthorizedKeysCommandUser nobody\n",
    5: "PasswordAuthentication yes\n",
    6: "DenyUsers bob\n",
  ]

  static func manifest(_ fleet: Fleet, extra: String = "") throws -> String {
    let path = "\(fleet.dir)/fleet.yaml"
    var text = "version: 1\ndefaults:\n  connect_as: root\n  mode: exclusive\n"
    text += "keys:\n  admin: { file: admin_ed25519.pub }\n  carol: { file: carol.pub }\n"
    text += "hosts:\n" + fleet.names.map { "  \($0): {}\n" }.joined()
    text += "access:\n  - hosts: ['*']\n    users: [alice]\n    keys: [admin, carol]\n"
    text += "  - hosts: [lab1, lab2, lab3, lab4, lab5]\n    users: [bob]\n    keys: [admin, carol]\n" + extra
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func ways(_ report: [String: Any], _ user: String, _ host: String) -> [[String: Any]] {
    let accounts = report["accounts"] as? [[String: Any]] ?? []
    let account = accounts.first { $0["user"] as? String == user && $0["host"] as? String == host }
    return account?["ways"] as? [[String: Any]] ?? []
  }

  static func account(_ report: [String: Any], _ user: String, _ host: String) -> [String: Any] {
    let accounts = report["accounts"] as? [[String: Any]] ?? []
    return accounts.first { $0["user"] as? String == user && $0["host"] as? String == host } ?? [:]
  }

  @Test("report names every way in; plan and apply manage the file sshd reads (real ssh logins)")
  func accessPathsAndManagedFiles() async throws {
    try await Fleet.with(hosts: 6, subnet: 173, sshdConfig: Self.configs) { fleet in
      let carol = try fleet.makeKey("carol")
      let stray = try fleet.makeKey("stray")
      let akc = try fleet.makeKey("akc")
      let ca = try fleet.makeKey("user_ca")
      // lab2: a key only in authorized_keys2.
      try fleet.install(
        stray.publicLine + "\n", at: fleet.home(2, "alice") + "/.ssh/authorized_keys2", uid: 2001)
      // lab3: the CA and alice's principals.
      try fleet.install(
        ca.publicLine + "\n", at: fleet.sshdConfigDirectory(3) + "/user_ca.pub", uid: 0, mode: 0o644)
      try fleet.install("alice-admin\n", at: fleet.home(3, "alice") + "/.ssh/principals", uid: 2001)
      // lab4: a command that returns a key for alice.
      try fleet.install(
        "#!/bin/sh\n[ \"$1\" = alice ] && echo '\(akc.publicLine)'\nexit 0\n",
        at: fleet.sshdConfigDirectory(4) + "/akc.sh", uid: 0, mode: 0o755)
      let manifest = try Self.manifest(fleet)

      // The report, before anything changes.
      let before = try await fleet.keyward(["report", manifest, "bob@lab6", "--format", "json"])
      #expect(before.status == 3, "\(before.stderr)")
      let report = try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any] ?? [:]
      let strayFingerprint = try PublicKey(parsing: stray.publicLine).fingerprint
      // lab1: sshd reads managed_keys for alice (Match), authorized_keys for root.
      #expect(
        Self.account(report, "alice", "lab1")["files"] as? [String] == ["/home/alice/.ssh/managed_keys"])
      #expect(Self.ways(report, "alice", "lab1").isEmpty)
      // lab2: the stray key, found in authorized_keys2, unmanaged.
      let lab2 = Self.ways(report, "alice", "lab2")
      #expect(
        lab2.contains {
          $0["fingerprint"] as? String == strayFingerprint
            && $0["file"] as? String == "/home/alice/.ssh/authorized_keys2" && $0["managed"] as? Bool == false
        }, "\(lab2)")
      // lab3: the CA and the principals it accepts.
      #expect(
        Self.ways(report, "alice", "lab3").contains {
          $0["kind"] as? String == "trusted-user-ca"
            && ($0["detail"] as? String)?.contains("alice-admin") == true
        })
      // lab4: the command.
      #expect(
        Self.ways(report, "alice", "lab4").contains {
          $0["kind"] as? String == "authorized-keys-command"
            && ($0["detail"] as? String)?.contains("akc.sh") == true
        })
      // lab5: passwords.
      #expect(Self.ways(report, "alice", "lab5").contains { $0["kind"] as? String == "password" })
      #expect(!Self.ways(report, "alice", "lab4").contains { $0["kind"] as? String == "password" })
      // lab6: bob is refused.
      #expect((Self.account(report, "bob", "lab6")["refused"] as? String)?.contains("DenyUsers") == true)
      let codes = Set((report["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String })
      for code in [
        "key-in-other-file", "unmanaged-key", "unseen-access-path", "password-login", "account-refused",
      ] {
        #expect(codes.contains(code), "no '\(code)' finding")
      }
      let schema = Fleet.packageRoot + "/schemas/report.schema.json"
      if JSONSchemaChecker.isAvailable || JSONSchemaChecker.isCI {
        #expect(try JSONSchemaChecker.check(schema: schema, [("report", before.stdout)]) == ["ok report"])
      }
      for format in ["text", "csv", "markdown"] {
        let other = try await fleet.keyward(["report", manifest, "--format", format])
        #expect(other.status == 3)
        #expect(other.stdout.contains(strayFingerprint), "\(format) lacks the stray key")
      }

      // Real logins before: the stray key opens alice@lab2; carol opens nothing yet; the
      // AuthorizedKeysCommand's key opens alice@lab4.
      #expect(try await fleet.ssh("alice", 2, identity: stray.path).status == 0)
      #expect(try await fleet.ssh("alice", 1, identity: carol.path).status != 0)
      #expect(try await fleet.ssh("alice", 4, identity: akc.path).status == 0)

      // The plan manages managed_keys on lab1 and empties authorized_keys2 on lab2.
      let plan = try await fleet.keyward(["plan", manifest])
      #expect(plan.stdout.contains("alice@lab1:.ssh/managed_keys"), "\(plan.stdout)")
      #expect(plan.stdout.contains("alice@lab2:.ssh/authorized_keys2"), "\(plan.stdout)")
      #expect(plan.stdout.contains("sshd also reads this file"), "\(plan.stdout)")
      let json = try await fleet.keyward(["plan", manifest, "--format", "json"])
      #expect(json.stdout.contains("\"source\" : \"sshd -T\""))
      if JSONSchemaChecker.isAvailable || JSONSchemaChecker.isCI {
        let planSchema = Fleet.packageRoot + "/schemas/plan.schema.json"
        #expect(try JSONSchemaChecker.check(schema: planSchema, [("plan", json.stdout)]) == ["ok plan"])
      }
      let apply = try await fleet.keyward(["apply", manifest, "--auto-approve"])
      #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

      // After: carol opens alice@lab1 (the file sshd reads); the stray key is refused on lab2.
      #expect(try await fleet.ssh("alice", 1, identity: carol.path).status == 0)
      #expect(try await fleet.ssh("alice", 2, identity: stray.path).status != 0)
      #expect(try await fleet.ssh("alice", 2, identity: carol.path).status == 0)
      // Keys not used: lab2 logs at INFO ("Accepted publickey for alice ... SHA256:..."). carol
      // just logged in to alice@lab2 and apply's login check used the admin key for alice and
      // bob; carol never logged in to bob@lab2.
      let log = fleet.dir + "/logs/host2.log"
      let usage = try await fleet.keyward([
        "report", "alice@lab2", "bob@lab2", "--connect-as", "root", "--sshd-log", log, "--format", "json",
      ])
      let used = try JSONSerialization.jsonObject(with: Data(usage.stdout.utf8)) as? [String: Any] ?? [:]
      let unused = (used["findings"] as? [[String: Any]] ?? []).filter {
        $0["code"] as? String == "unused-key"
      }
      .map { "\($0["user"] ?? "") \($0["fingerprint"] ?? "")" }
      let carolFingerprint = try PublicKey(parsing: carol.publicLine).fingerprint
      #expect(unused == ["bob \(carolFingerprint)"], "\(usage.stdout)")
      let noLog = try await fleet.keyward([
        "report", "alice@lab3", "--connect-as", "root", "--sshd-log", "/nonexistent",
      ])
      #expect(noLog.stdout.contains("[log-unreadable]"), "\(noLog.stdout)")
      #expect(!noLog.stdout.contains("[unused-key]"))

      let again = try await fleet.keyward(["plan", manifest, "--detailed-exitcode"])
      #expect(again.status == 0, "\(again.stdout)")

      // A path sshd does not read, and a user sshd refuses, are warnings.
      let wrong = try Self.manifest(
        fleet,
        extra: "  - hosts: [lab1]\n    users: [deploy]\n    keys: [carol]\n    path: .ssh/other_keys\n"
          + "  - hosts: [lab6]\n    users: [bob]\n    keys: [carol]\n")
      let warned = try await fleet.keyward(["plan", wrong])
      #expect(warned.stdout.contains("sshd does not read '.ssh/other_keys'"), "\(warned.stdout)")
      #expect(warned.stdout.contains("sshd refuses public-key logins of 'bob'"), "\(warned.stdout)")
    }
  }
}

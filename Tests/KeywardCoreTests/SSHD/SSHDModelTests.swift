import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Testing

@testable import KeywardCore

/// The pure parts of the sshd model: `sshd -T` output, the probe's output, patterns, path
/// tokens and which files a target manages.
@Suite struct SSHDModelTests {
  @Test func readsSSHDTestOutput() {
    let settings = SSHDSettings(
      sshdTestOutput: """
        port 22
        authorizedkeysfile .ssh/authorized_keys %h/.ssh/keys_%u
        authorizedkeyscommand /usr/bin/akc %u %f
        authorizedkeyscommanduser nobody
        trustedusercakeys none
        permitrootlogin without-password
        passwordauthentication yes
        kbdinteractiveauthentication no
        allowusers alice
        allowusers bob@10.0.0.0/8
        authenticationmethods publickey,password publickey
        forcecommand none
        """)
    #expect(settings.authorizedKeysFiles == [".ssh/authorized_keys", "%h/.ssh/keys_%u"])
    #expect(settings.authorizedKeysCommand == "/usr/bin/akc %u %f")
    #expect(settings.authorizedKeysCommandUser == "nobody")
    #expect(settings.trustedUserCAKeys == nil)
    #expect(settings.permitRootLogin == .prohibitPassword)
    #expect(settings.passwordAuthentication && !settings.kbdInteractiveAuthentication)
    #expect(settings.allowUsers == ["alice", "bob@10.0.0.0/8"])
    #expect(settings.authenticationMethods == ["publickey,password", "publickey"])
    #expect(settings.forceCommand == nil)
    #expect(SSHDSettings(sshdTestOutput: "authorizedkeysfile none\n").authorizedKeysFiles.isEmpty)
  }

  @Test(arguments: [
    (".ssh/authorized_keys", "alice", "/home/alice", "/home/alice/.ssh/authorized_keys"),
    ("%h/.ssh/k_%u", "alice", "/home/alice", "/home/alice/.ssh/k_alice"),
    ("/etc/ssh/keys/%U", "bob", "/home/bob", "/etc/ssh/keys/2002"),
    ("/srv/100%%/%u", "bob", "/home/bob", "/srv/100%/bob"),
    (".ssh/authorized_keys", "root", "/", "/.ssh/authorized_keys"),
  ])
  func expandsTokens(pattern: String, user: String, home: String, expected: String) {
    let uid: UInt32 = user == "bob" ? 2002 : 2001
    #expect(SSHDSettings.expand(pattern, user: user, home: home, uid: uid) == expected)
  }

  @Test(arguments: [
    ("alice", "al*", 1), ("alice", "bob,!alice", -1), ("alice", "*,!bob", 1), ("carol", "a?ice", 0),
    ("alice", "a?ice", 1), ("x", "", 0),
  ])
  func patternLists(subject: String, list: String, expected: Int) {
    #expect(SSHDPattern.matchList(subject, list) == expected)
  }

  @Test(arguments: [
    ("10.1.2.3", "10.0.0.0/8", 1), ("10.1.2.3", "!10.1.0.0/16,10.0.0.0/8", -1),
    ("192.168.1.1", "10.0.0.0/8", 0),
    ("127.0.0.1", "127.0.0.*", 1), ("10.1.2.3", "10.1.2.3/8", -2), ("::1", "::1/128", 1),
  ])
  func addressLists(address: String, list: String, expected: Int) {
    #expect(SSHDPattern.addressList(address, list) == expected)
  }

  @Test func refusals() {
    var settings = SSHDSettings()
    #expect(settings.publicKeyRefusal(user: "alice", uid: 2001, groups: ["alice"]) == nil)
    settings.denyUsers = ["al*"]
    #expect(settings.publicKeyRefusal(user: "alice", uid: 2001, groups: [])?.contains("DenyUsers") == true)
    settings = SSHDSettings()
    settings.allowGroups = ["admins"]
    #expect(
      settings.publicKeyRefusal(user: "alice", uid: 2001, groups: ["alice"])?.contains("AllowGroups") == true)
    #expect(settings.publicKeyRefusal(user: "alice", uid: 2001, groups: ["admins"]) == nil)
    settings = SSHDSettings()
    settings.permitRootLogin = .no
    #expect(settings.publicKeyRefusal(user: "root", uid: 0, groups: []) != nil)
    settings.pubkeyAuthentication = false
    #expect(settings.publicKeyRefusal(user: "alice", uid: 2001, groups: []) != nil)
    settings = SSHDSettings()
    #expect(settings.allowsPassword(uid: 2001))
    #expect(!settings.allowsPassword(uid: 0))
    settings.passwordAuthentication = false
    settings.kbdInteractiveAuthentication = false
    #expect(!settings.allowsPassword(uid: 2001))
  }

  @Test func parsesProbeOutput() {
    let output = SSHDProbe.parse(
      """
      @@conn 10.0.0.9 10.0.0.1 22
      @@uid 0
      @@passwd
      alice:x:2001:2001:Alice:/home/alice:/bin/bash
      svc:x:999:999::/var/lib/svc:/usr/sbin/nologin
      @@groups alice alice admins
      @@sshd alice
      authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
      passwordauthentication no
      @@status 0
      @@sshd svc
      sshd: no hostkeys available -- exiting.
      @@status 255
      """)
    #expect(output.uid == 0 && output.client == "10.0.0.9" && output.port == 22)
    #expect(output.accounts["alice"]?.groups == ["alice", "admins"])
    #expect(output.accounts["alice"]?.isLoginAccount == true)
    #expect(output.accounts["svc"]?.isLoginAccount == false)
    #expect(
      output.settings["alice"]?.authorizedKeysFiles == [".ssh/authorized_keys", ".ssh/authorized_keys2"])
    #expect(output.failures["svc"]?.contains("no hostkeys") == true)
    let exact = SSHDProbe.model(host: "h", output: output, users: ["alice"], allAccounts: false) { nil }
    #expect(exact.source == .sshdTest)
    // sshd -T failed for one user: the whole host falls back to sshd_config, marked approximate.
    let approximate = SSHDProbe.model(host: "h", output: output, users: ["alice", "svc"], allAccounts: false)
    {
      var problems: [String] = []
      let file = SSHDConfig.parse(
        "AuthorizedKeysFile .ssh/k\nMatch User svc\n  AuthorizedKeysFile none\n",
        path: "/etc/ssh/sshd_config",
        reader: NoFiles(), depth: 0, problems: &problems)
      return SSHDConfig(root: file, problems: problems)
    }
    #expect(approximate.isApproximate)
    #expect(approximate.users["alice"]?.authorizedKeysFiles == [".ssh/k"])
    #expect(approximate.users["svc"]?.authorizedKeysFiles == [])
    #expect(approximate.notes.first?.contains("sshd -T") == true)
  }

  @Test func crlfLinesAreSplitAsSSHDSplitsThem() {
    // Swift holds "\r\n" as one Character: splitting at "\n" would join these lines.
    var problems: [String] = []
    let file = SSHDConfig.parse(
      "PasswordAuthentication no\r\nAuthorizedKeysFile .ssh/k\r\n", path: "/c", reader: NoFiles(), depth: 0,
      problems: &problems)
    let settings = SSHDConfigEvaluator.evaluate(
      SSHDConfig(root: file, problems: problems), connection: SSHDConnection(user: "alice"))
    #expect(!settings.passwordAuthentication)
    #expect(settings.authorizedKeysFiles == [".ssh/k"])
    let output = SSHDProbe.parse(
      "@@log\r\nAccepted publickey for alice from 127.0.0.1 port 1 ssh2: ED25519 SHA256:abc\r\n@@logsource /var/log/x\r\n"
    )
    #expect(output.logSource == "/var/log/x")
    #expect(output.logins["alice"] == ["SHA256:abc"])
  }

  @Test func probeScriptQuotesNothingUnsafe() {
    let script = SSHDProbe.script(users: ["alice", "bob;rm -rf /", "-x", "$(id)"], allAccounts: false)
    #expect(script.contains("getent passwd alice)"))
    #expect(!script.contains("rm -rf") && !script.contains("$(id)"))
    // Only alice is a user word: in getent's line and in the loop over the users asked for.
    #expect(script.contains("for u in alice; do") && !script.contains("alice -x") && !script.contains("-x)"))
  }

  static func model(_ files: [String], user: String = "alice", denied: Bool = false) -> SSHDModel {
    var settings = SSHDSettings()
    settings.authorizedKeysFiles = files
    if denied { settings.denyUsers = [user] }
    return SSHDModel(
      host: "h", source: .sshdTest, users: [user: settings],
      accounts: [user: SSHDModel.Account(name: user, uid: 2001, gid: 2001, home: "/home/\(user)")])
  }

  static func target(_ path: String = ".ssh/authorized_keys", mode: ManagementMode = .exclusive)
    -> DesiredTarget
  {
    DesiredTarget(id: TargetID(user: "alice", host: "h", path: path), mode: mode, entries: [])
  }

  @Test func managedFiles() {
    // The default path becomes sshd's first file; the others are swept in exclusive mode.
    var r = ManagedFiles.resolve(
      DesiredState(targets: [Self.target()]),
      models: ["h": Self.model(["%h/.ssh/keys_%u", ".ssh/authorized_keys2"])])
    #expect(r.managed.targets.map(\.id.path) == [".ssh/keys_alice"])
    #expect(r.swept.map(\.target.id.path) == [".ssh/authorized_keys2"])
    #expect(r.warnings.isEmpty)
    // Additive mode sweeps nothing.
    r = ManagedFiles.resolve(
      DesiredState(targets: [Self.target(mode: .additive)]),
      models: ["h": Self.model([".ssh/authorized_keys", ".ssh/authorized_keys2"])])
    #expect(r.swept.isEmpty)
    // A path sshd does not read, and a refused user, are warnings.
    r = ManagedFiles.resolve(
      DesiredState(targets: [Self.target(".ssh/elsewhere")]),
      models: ["h": Self.model([".ssh/authorized_keys"], denied: true)])
    let notes = r.warnings.values.flatMap { $0 }
    #expect(notes.contains { $0.contains("sshd does not read '.ssh/elsewhere'") })
    #expect(notes.contains { $0.contains("DenyUsers") })
    // No model for the host: the target is left as the manifest says.
    r = ManagedFiles.resolve(DesiredState(targets: [Self.target()]), models: [:])
    #expect(r.managed.targets.map(\.id.path) == [".ssh/authorized_keys"] && r.swept.isEmpty)
  }

  @Test func sweptFilesArePlannedEmptyWithTheAccountGuard() async throws {
    let key = try PublicKey(parsing: TestKeys.carol)
    let transport = MemoryTransport(accounts: [
      TargetID(user: "alice", host: "h", path: ".ssh/authorized_keys"): .init(content: nil, uid: 2001),
      TargetID(user: "alice", host: "h", path: ".ssh/authorized_keys2"): .init(
        content: Array((TestKeys.carol + "\n").utf8), uid: 2001),
    ])
    let source = FixedModels(models: ["h": Self.model([".ssh/authorized_keys", ".ssh/authorized_keys2"])])
    // carol is declared: she moves from authorized_keys2 to authorized_keys.
    var target = Self.target()
    target.entries = [DesiredEntry(keyName: "carol", key: key, rule: "access[0]")]
    let plan = await Planner().plan(DesiredState(targets: [target]), transport: transport, sshd: source)
    #expect(plan.targets.map(\.id.path) == [".ssh/authorized_keys", ".ssh/authorized_keys2"])
    #expect(plan.targets[0].count(.add) == 1)
    #expect(plan.targets[1].count(.remove) == 1)
    #expect(plan.targets[1].changes.first?.reason.contains("sshd also reads this file") == true)
    #expect(plan.sshd["h"] != nil)
    // Nothing declared: emptying the other file would leave the account with no key.
    let empty = await Planner().plan(
      DesiredState(targets: [Self.target()]), transport: transport, sshd: source)
    #expect(empty.targets.last?.status == .error)
  }

  @Test func aHostUnreachableForItsModelIsNotTriedAgain() async throws {
    let transport = MemoryTransport(accounts: [
      TargetID(user: "alice", host: "h"): .init(content: nil, uid: 2001)
    ])
    struct Unreachable: SSHDModelSource {
      func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<SSHDModel, TransportError>]
      {
        Dictionary(
          uniqueKeysWithValues: requests.map {
            (
              $0.host,
              .failure(TransportError(code: .unreachable, host: $0.host, step: .connect, message: "down"))
            )
          })
      }
    }
    let plan = await Planner().plan(
      DesiredState(targets: [Self.target()]), transport: transport, sshd: Unreachable())
    #expect(transport.trace.isEmpty, "\(transport.trace)")
    #expect(plan.targets.first?.status == .error)
    #expect(plan.targets.first?.error?.contains("down") == true)
  }

  @Test(arguments: [
    ("alice@laptop", "alice@laptop"), ("deploy key #1 é", "deploy-key-1"), ("--x--", "x"), ("", "key-"),
    (".hidden", "hidden"),
  ])
  func importNames(comment: String, prefix: String) throws {
    let key = try PublicKey(parsing: TestKeys.carol)
    let name = FleetImporter.baseName(comment: comment.isEmpty ? nil : comment, key: key)
    #expect(name.hasPrefix(prefix), "\(name)")
    #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._@+:-".contains($0)) })
  }

  @Test func reportRenderersNeverEchoControlCharacters() {
    let report = AccessReport(
      withManifests: false,
      accounts: [
        AccessReport.Account(
          host: "h", user: "alice", source: "sshd -T", files: ["/home/alice/.ssh/authorized_keys"],
          refused: nil,
          ways: [
            AccessReport.Way(
              kind: "key", file: "/home/alice/.ssh/authorized_keys", line: 1, fingerprint: "SHA256:x",
              keyType: "ssh-ed25519", comment: "evil\u{1B}[31m=cmd|x", restrictions: [])
          ])
      ], keys: [], findings: [], errors: [])
    for text in [
      AccessReportRenderer.text(report), AccessReportRenderer.markdown(report),
      AccessReportRenderer.csv(report),
    ] {
      #expect(!text.contains("\u{1B}"))
      #expect(text.contains("\\x1B"))
    }
    #expect(AccessReportRenderer.csvField("=SUM(A1)") == "'=SUM(A1)")
  }
}

struct NoFiles: SSHDConfigReader {
  func read(_ path: String) -> String? { nil }
  func list(_ directory: String) -> [String]? { nil }
}

/// Models given up front (the planner step's tests).
struct FixedModels: SSHDModelSource {
  var models: [String: SSHDModel]
  func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<SSHDModel, TransportError>] {
    Dictionary(
      uniqueKeysWithValues: requests.compactMap { r in models[r.host].map { (r.host, .success($0)) } })
  }
}

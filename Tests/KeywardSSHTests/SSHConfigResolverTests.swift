import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// Parsing OpenSSH's own resolution (`ssh -G`) and ProxyJump hops; no network.
struct SSHConfigResolverTests {
  @Test func parsesSSHDashG() {
    let output = """
      user root
      hostname 10.0.0.5
      port 2222
      identitiesonly yes
      stricthostkeychecking accept-new
      identityfile ~/.ssh/id_ed25519
      identityfile /keys/%r@%h
      globalknownhostsfile /etc/ssh/ssh_known_hosts /dev/null
      userknownhostsfile ~/.ssh/known_hosts /tmp/kh
      connecttimeout 7
      proxyjump ops@bastion:2200,jump2

      """
    let host = SSHConfigResolver.parse(output, alias: "db1")
    let home = SSHConfigResolver.home
    #expect(host.alias == "db1")
    #expect(host.hostname == "10.0.0.5")
    #expect(host.port == 2222)
    #expect(host.user == "root")
    #expect(host.identitiesOnly)
    #expect(host.strictHostKeyChecking == "accept-new")
    #expect(host.identityFiles == ["\(home)/.ssh/id_ed25519", "/keys/root@10.0.0.5"])
    #expect(host.knownHostsFiles == ["\(home)/.ssh/known_hosts", "/tmp/kh", "/etc/ssh/ssh_known_hosts"])
    #expect(host.connectTimeout == .seconds(7))
    #expect(host.proxyJump == "ops@bastion:2200,jump2")
    #expect(host.knownHostsName == "[10.0.0.5]:2222")
  }

  @Test("options keyward cannot honour are collected, not ignored")
  func unsupportedOptions() {
    let host = SSHConfigResolver.parse(
      "hostname h\ncertificatefile ~/.ssh/id-cert.pub\nknownhostscommand /bin/kh\nrevokedhostkeys /etc/krl\n"
        + "proxyusefdpass no\nhostkeyalias Alias\ncheckhostip yes\nhashknownhosts yes\nidentityagent none\n"
        + "proxycommand nc %h %p\nconnectionattempts 3\naddressfamily inet\nbindaddress 127.0.0.9\n",
      alias: "h")
    #expect(host.unsupported.count == 3)
    #expect(host.unsupported.contains { $0.hasPrefix("certificatefile '~/.ssh/id-cert.pub'") })
    #expect(host.unsupported.contains("knownhostscommand '/bin/kh'"))
    #expect(host.unsupported.contains("revokedhostkeys '/etc/krl'"))
    #expect(host.knownHostsName == "Alias")
    #expect(host.checkHostIP && host.hashKnownHosts)
    #expect(host.identityAgent == "none")
    #expect(host.proxyCommand == "nc %h %p")
    #expect(host.connectionAttempts == 3)
    #expect(host.addressFamily == "inet" && host.bindAddress == "127.0.0.9")
    let expanded = ProxyCommand.expand("nc %h %p %r %n %% %x", host: host, user: "bob")
    #expect(expanded == "nc h 22 bob h % %x")
  }

  @Test func noneMeansUnset() {
    let host = SSHConfigResolver.parse("hostname web1\nproxyjump none\nconnecttimeout none\n", alias: "web1")
    #expect(host.proxyJump == nil)
    #expect(host.connectTimeout == nil)
    #expect(host.knownHostsName == "web1")
  }

  @Test(
    arguments: [
      ("bastion", nil, "bastion", nil), ("ops@bastion", "ops", "bastion", nil),
      ("ops@bastion:2200", "ops", "bastion", 2200), ("bastion:22", nil, "bastion", 22),
      // ssh -G prints addresses in brackets; IPv6 needs them to carry a port.
      ("[127.0.77.1]", nil, "127.0.77.1", nil), ("root@[127.0.77.1]", "root", "127.0.77.1", nil),
      ("root@[::1]:2222", "root", "::1", 2222), ("[::1]", nil, "::1", nil), ("::1", nil, "::1", nil),
      ("ssh://ops@bastion:2200", "ops", "bastion", 2200), ("Ops@Bastion", "Ops", "Bastion", nil),
    ] as [(String, String?, String, Int?)])
  func parsesJumpHops(text: String, user: String?, host: String, port: Int?) {
    let hop = JumpHop(text)
    #expect(hop.user == user)
    #expect(hop.host == host)
    #expect(hop.port == port)
  }

  @Test(arguments: [
    ("alice", true), ("svc-deploy.1", true), ("machine$", true), ("-rf", false), ("a b", false),
    ("x;reboot", false), ("", false), ("é", false),
  ])
  func userNamesSafeForGetent(name: String, valid: Bool) {
    #expect(TargetOperations.isValidUserName(name) == valid)
  }

  @Test func readsThePublicKeyFromAnOpenSSHPrivateKey() throws {
    let dir = try Fleet.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/key"
    let made = try Fleet.run(
      "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "pass phrase", "-C", "", "-f", path])
    try #require(made.status == 0)
    let publicLine = try String(contentsOfFile: path + ".pub", encoding: .utf8)
    let fromPub = IdentityLoader.publicBlob(forPrivateKey: path)
    try FileManager.default.removeItem(atPath: path + ".pub")
    let fromPrivate = IdentityLoader.publicBlob(forPrivateKey: path)
    #expect(fromPub != nil)
    #expect(fromPrivate == fromPub)
    let base64 = String(publicLine.split(separator: " ")[1])
    #expect(fromPrivate.map { Data($0).base64EncodedString() } == base64)
    #expect(fromPrivate.flatMap(IdentityLoader.keyType(of:)) == "ssh-ed25519")
  }

}

import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// A manifest `jump:` on both transports: the hop is known by its manifest fields (a `bastion`
/// that only the manifest can place: `ssh -J bastion` alone could not reach it), chains go hop
/// by hop, every hop's host key is verified, a loop is refused before connecting, and a write
/// through the route is proved by a real `ssh` login with the key it granted.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct JumpHostFleetTests {
  @Test(
    "manifest jump hosts: hostname/port from the manifest, chains, dead hops, impostors, loops",
    arguments: LabTransport.allCases)
  func jumpRoutes(kind: LabTransport) async throws {
    try await Fleet.with(hosts: 3, subnet: kind.subnet(197)) { fleet in
      let id = TargetID(user: "deploy", host: "lab3")
      // "bastion" is lab1 by address: no ssh_config block and no DNS name knows it.
      let bastion = HostSpec(name: "bastion", hostname: fleet.address(1), knownHosts: fleet.knownHosts)
      func hosts(_ jump: String, bastion: HostSpec = bastion, extra: [HostSpec] = []) -> [String: HostSpec] {
        var all = ["lab3": HostSpec(name: "lab3", jump: jump), "bastion": bastion]
        for spec in extra { all[spec.name] = spec }
        return all
      }
      var runs = 0

      // Through the manifest's bastion: read, write, then log in with the key written.
      let key = try fleet.makeKey("through-jump")
      let route = fleet.transport(kind, hosts: hosts("root@bastion"))
      let observed = await route.fetch([FetchRequest(id: id)])
      let target = try #require(try observed[id]?.get(), "\(String(describing: observed[id]))")
      #expect(target.content == Array(fleet.adminPublicKey.utf8))
      let content = Array((fleet.adminPublicKey + key.publicLine + "\n").utf8)
      let written = await route.write([WriteRequest(id: id, expectedDigest: target.digest, content: content)])
      #expect(
        written[id] == .written(digest: ContentDigest.of(content)), "\(String(describing: written[id]))")
      route.closeSessions()
      #expect(try await fleet.ssh("deploy", 3, identity: key.path).status == 0)
      runs += 1

      // A chain: bastion, then lab2, then lab3; the key and known_hosts at paths with a space,
      // a quote and a `%` (one shell and two levels of ssh's tokens between them and the hop).
      let odd = fleet.dir + "/it's 100%d odd"
      try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: fleet.adminKey, toPath: odd + "/key %h")
      try FileManager.default.copyItem(atPath: fleet.knownHosts, toPath: odd + "/known hosts")
      let chained = fleet.transport(
        kind, hosts: hosts("root@bastion,root@lab2"), identity: odd + "/key %h",
        knownHosts: odd + "/known hosts")
      let viaChain = await chained.fetch([FetchRequest(id: id)])
      #expect(try viaChain[id]?.get().content == content, "\(String(describing: viaChain[id]))")
      chained.closeSessions()
      runs += 1

      // The route is really used: the manifest's port for the bastion (nothing listens there),
      // a dead first hop of a chain, and an address where no host answers all fail the target.
      let deadBastions = [
        hosts(
          "root@bastion",
          bastion: HostSpec(
            name: "bastion", hostname: fleet.address(1), port: 2, knownHosts: fleet.knownHosts)),
        hosts(
          "root@ghost,root@lab2",
          extra: [
            HostSpec(name: "ghost", hostname: "127.0.\(fleet.subnet).200", knownHosts: fleet.knownHosts)
          ]),
      ]
      for routeHosts in deadBastions {
        let transport = fleet.transport(kind, hosts: routeHosts)
        let failed = await transport.fetch([FetchRequest(id: id)])
        transport.closeSessions()
        let error = try #require(failed[id]?.failure, "\(String(describing: failed[id]))")
        #expect(error.code == .unreachable, "\(error)")
        #expect(error.message.contains("via jump host"), "\(error)")
        runs += 1
      }

      // The bastion's own host key is verified: an impostor key for its address stops the route.
      let impostor = try fleet.makeKey("impostor")
      let edited = try fleet.knownHosts("known_hosts.jump", impostor: 1, publicLine: impostor.publicLine)
      let guarded = fleet.transport(kind, hosts: hosts("root@bastion"), knownHosts: edited)
      let refused = await guarded.fetch([FetchRequest(id: id)])
      guarded.closeSessions()
      let refusal = try #require(refused[id]?.failure, "\(String(describing: refused[id]))")
      #expect(refusal.code == .hostKeyChanged, "\(refusal)")
      #expect(refusal.message.contains("via jump host"), "\(refusal)")
      runs += 1

      // A loop of jump hosts is refused without connecting forever.
      let looped = fleet.transport(
        kind,
        hosts: hosts(
          "root@bastion",
          bastion: HostSpec(
            name: "bastion", hostname: fleet.address(1), jump: "lab3", knownHosts: fleet.knownHosts)))
      let loop = await looped.fetch([FetchRequest(id: id)])
      looped.closeSessions()
      let loopError = try #require(loop[id]?.failure, "\(String(describing: loop[id]))")
      #expect(loopError.code == .jumpFailed && loopError.message.contains("8 hops"), "\(loopError)")
      runs += 1

      // ssh_config's own ProxyJump (no manifest jump:): the hop gets keyward's options too, so
      // its host key is checked against --known-hosts (an impostor there stops the route, where
      // ssh's own ProxyJump would have checked the config's known_hosts and gone through).
      let config = fleet.dir + "/ssh_config.proxyjump"
      let original = try String(contentsOfFile: fleet.sshConfig, encoding: .utf8)
      try ("Host lab3\n  ProxyJump root@lab1\n\n" + original).write(
        toFile: config, atomically: true, encoding: .utf8)
      let manifest = fleet.dir + "/proxyjump.yaml"
      try """
      version: 1
      keys: { admin: { file: \(fleet.adminKey).pub } }
      hosts: { lab3: {} }
      access: [{ hosts: [lab3], users: [deploy], keys: [admin] }]

      """.write(toFile: manifest, atomically: true, encoding: .utf8)
      for (known, works) in [(fleet.knownHosts, true), (edited, false)] {
        let plan = try await Fleet.offPool {
          try KeywardProcess.run(
            [
              "plan", manifest, "--ssh-config", config, "--known-hosts", known, "--identity", fleet.adminKey,
              "--transport", kind.rawValue, "--connect-timeout", "5",
            ], environment: ["SSH_AUTH_SOCK": ""], directory: fleet.dir)
        }
        let output = plan.stdout + plan.stderr
        if works {
          #expect(plan.status == 0, "\(output)")
        } else {
          #expect(plan.status != 0 && output.contains("via jump host"), "\(output)")
          #expect(output.contains("host-key-changed"), "\(output)")
        }
        runs += 1
      }

      #expect(fleet.sshProcesses().isEmpty, "ssh processes left: \(fleet.sshProcesses())")
      #expect(fleet.sshProcesses(config: config).isEmpty)
      kind.count(runs, "jump routes")
    }
  }
}

import Foundation
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 9's state table over SSH, through the real binary (`connect_as: root`, so every write
/// runs as alice through her own `sftp-server`): each host starts alice's files in one awkward
/// state. The states keyward can repair converge — a real login with the granted key works, the
/// next plan is empty and the next apply writes nothing (inode and mtime unchanged). The states
/// it must not touch (someone else's directory or file) are refused with a reason, and nothing
/// on those hosts changes.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SSHStateTableTests {
  /// One starting state of alice's `~/.ssh` and `authorized_keys`, set up from outside the host.
  struct State: Sendable {
    var name: String
    var prepare: @Sendable (_ ssh: String, _ file: String) -> Void
  }

  static let repairable: [State] = [
    State(name: "~/.ssh 0777") { ssh, _ in chmod(ssh, 0o777) },
    State(name: "~/.ssh 0775, shared group") { ssh, _ in
      chown(ssh, 2001, 2002)
      chmod(ssh, 0o775)
    },
    State(name: "authorized_keys 0666") { _, file in chmod(file, 0o666) },
    State(name: "no ~/.ssh") { ssh, _ in try? FileManager.default.removeItem(atPath: ssh) },
    State(name: "no authorized_keys") { _, file in unlink(file) },
  ]

  static let refused: [State] = [
    State(name: "~/.ssh owned by root") { ssh, _ in
      chown(ssh, 0, 0)
      chmod(ssh, 0o755)
    },
    State(name: "authorized_keys owned by root") { _, file in
      chown(file, 0, 0)
      chmod(file, 0o644)
    },
  ]

  func manifest(_ fleet: Fleet, hosts: [String], name: String) throws -> String {
    let text = """
      version: 1
      defaults:
        mode: exclusive
        connect_as: root
      keys:
        admin: { file: admin_ed25519.pub }
        ann: { file: ann.pub }
      hosts:
      \(hosts.map { "  \($0): {}" }.joined(separator: "\n"))
      access:
        - hosts: [\(hosts.joined(separator: ", "))]
          users: [alice]
          keys: [admin, ann]

      """
    let path = "\(fleet.dir)/\(name).yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func keyward(_ fleet: Fleet, _ kind: LabTransport, _ arguments: [String]) async throws -> (
    status: Int32, output: String
  ) {
    let (config, dir) = (fleet.sshConfig, fleet.dir)
    return try await Fleet.offPool {
      let result = try KeywardProcess.run(
        arguments + ["--ssh-config", config, "--no-color", "--transport", kind.rawValue],
        environment: ["SSH_AUTH_SOCK": ""], directory: dir
      )
      return (result.status, result.stdout + result.stderr)
    }
  }

  /// Mode, owner, inode and mtime of a path (nil when absent).
  func facts(_ path: String) -> [Int]? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return [
      Int(info.st_mode & 0o7777), Int(info.st_uid), Int(info.st_gid), Int(info.st_ino),
      info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec,
    ]
  }

  @Test(
    "every starting state converges or is refused; repaired hosts log in, then plan and apply are no-ops",
    arguments: LabTransport.allCases)
  func stateTable(_ kind: LabTransport) async throws {
    let count = Self.repairable.count + Self.refused.count
    defer { kind.count(count, "ssh state table") }
    try await Fleet.with(hosts: count, subnet: kind.subnet(141)) { fleet in
      let ann = try fleet.makeKey("ann")
      for (index, state) in (Self.repairable + Self.refused).enumerated() {
        let home = fleet.home(index + 1, "alice")
        state.prepare(home + "/.ssh", fleet.authorizedKeys(index + 1, "alice"))
      }
      let good = Array(fleet.names.prefix(Self.repairable.count))
      let bad = Array(fleet.names.suffix(Self.refused.count))
      let goodManifest = try manifest(fleet, hosts: good, name: "good")
      let badManifest = try manifest(fleet, hosts: bad, name: "bad")

      // Repairable: one apply fixes modes, creates what is missing, and grants ann.
      let apply = try await keyward(fleet, kind, ["apply", goodManifest, "--auto-approve"])
      #expect(apply.status == 0, "\(apply.output)")
      var after: [String: [Int]] = [:]
      for (index, state) in Self.repairable.enumerated() {
        let ssh = fleet.home(index + 1, "alice") + "/.ssh"
        let file = fleet.authorizedKeys(index + 1, "alice")
        #expect(
          facts(ssh)?.prefix(2) == [0o700, 2001], "\(state.name): ~/.ssh \(String(describing: facts(ssh)))")
        #expect(facts(file)?.prefix(3) == [0o600, 2001, 2001], "\(state.name): file")
        let login = try await fleet.ssh("alice", index + 1, identity: ann.path, "id -un")
        #expect(login.status == 0 && login.output.contains("alice"), "\(state.name): \(login.output)")
        after[ssh] = facts(ssh)
        after[file] = facts(file)
      }
      let plan = try await keyward(fleet, kind, ["plan", goodManifest, "--detailed-exitcode"])
      #expect(plan.status == 0, "the plan after apply is not empty: \(plan.output)")
      let again = try await keyward(fleet, kind, ["apply", goodManifest, "--auto-approve"])
      #expect(again.status == 0, "\(again.output)")
      for (path, before) in after {
        #expect(facts(path) == before, "the second apply touched '\(path)'")
      }

      // Refused: another owner's directory or file is never written; the reason is given.
      var untouched: [String: [Int]] = [:]
      var contents: [String: [UInt8]?] = [:]
      for offset in 0..<Self.refused.count {
        let index = Self.repairable.count + offset + 1
        let file = fleet.authorizedKeys(index, "alice")
        untouched[file] = facts(file)
        untouched[fleet.home(index, "alice") + "/.ssh"] = facts(fleet.home(index, "alice") + "/.ssh")
        contents[file] = fleet.bytes(file)
      }
      let refusedApply = try await keyward(fleet, kind, ["apply", badManifest, "--auto-approve"])
      #expect(refusedApply.status != 0, "\(refusedApply.output)")
      for (offset, state) in Self.refused.enumerated() {
        let host = bad[offset]
        #expect(
          refusedApply.output.contains("alice@\(host)")
            && (refusedApply.output.contains("owned by") || refusedApply.output.contains("permission")),
          "\(state.name): no reason given: \(refusedApply.output)")
        #expect(try await fleet.ssh("root", Self.repairable.count + offset + 1).status == 0)
      }
      for (path, before) in untouched { #expect(facts(path) == before, "'\(path)' changed") }
      for (path, bytes) in contents { #expect(fleet.bytes(path) == bytes, "'\(path)' was rewritten") }
      print(
        "[\(kind.rawValue)] ssh state table: \(Self.repairable.count) states repaired, \(Self.refused.count) refused"
      )
    }
  }
}

import Foundation
import KeywardTestSupport
import Testing

/// A hostile user's attacks on `keyward --local --root`, through the real binary, as root: each
/// one must leave every file on the watch list (root's and bob's files inside the root, a file
/// outside the root) with the same bytes, owner and mode, and keyward must say why it refused.
@Suite("hostile files under --local --root", .tags(.processes))
struct LocalAttackTests {
  /// One attack: how alice prepares the tree, the access rule's extra fields, the command, and
  /// words one of which the refusal must contain.
  struct Attack: Sendable {
    var name: String
    var rule: String = ""
    var command: [String] = ["apply", "--auto-approve"]
    var reasons: [String]
    var prepare: @Sendable (Tree) throws -> Void
  }

  /// A root with alice, bob and root, and a directory outside it.
  final class Tree: @unchecked Sendable {
    let root: TemporaryRoot
    let outside: String
    var path: String { root.path }

    init() throws {
      root = try TemporaryRoot()
      outside =
        FileManager.default.temporaryDirectory.appendingPathComponent("keyward-outside-\(UUID())").path
      try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
      try "outside the root\n".write(toFile: outside + "/victim", atomically: false, encoding: .utf8)
      chmod(outside + "/victim", 0o644)
      try FileManager.default.createDirectory(atPath: path + "/root/.ssh", withIntermediateDirectories: true)
      chmod(path + "/root", 0o700)
      chmod(path + "/root/.ssh", 0o700)
      try (TestKeys.ci + "\n").write(
        toFile: path + "/root/.ssh/authorized_keys", atomically: false, encoding: .utf8)
      chmod(path + "/root/.ssh/authorized_keys", 0o600)
      try "root's secret\n".write(toFile: path + "/etc/secret", atomically: false, encoding: .utf8)
      chmod(path + "/etc/secret", 0o600)
      try root.put("bob", TestKeys.bob + "\n")
      try FileManager.default.createDirectory(
        atPath: path + "/home/alice/.ssh", withIntermediateDirectories: true)
      chmod(path + "/home/alice/.ssh", 0o700)
      chown(path + "/home/alice/.ssh", 2001, 2001)
    }

    deinit { try? FileManager.default.removeItem(atPath: outside) }

    var watchList: [String] {
      [
        path + "/root/.ssh/authorized_keys", path + "/root/.ssh", path + "/etc/secret", path + "/etc/passwd",
        path + "/home/bob/.ssh/authorized_keys", path + "/home/bob/.ssh", outside + "/victim", outside,
      ]
    }

    /// Digest, owner and mode of every watched path (following nothing).
    func watch() -> [String: String] {
      var out: [String: String] = [:]
      for file in watchList {
        var st = stat()
        guard lstat(file, &st) == 0 else {
          out[file] = "absent"
          continue
        }
        let bytes = FileManager.default.contents(atPath: file).map { Array($0) }
        let digest = st.st_mode & S_IFMT == S_IFREG ? "\(bytes?.hashValue ?? 0)-\(bytes?.count ?? -1)" : "dir"
        out[file] = "\(digest) \(st.st_uid):\(st.st_gid) \(String(st.st_mode, radix: 8))"
      }
      return out
    }

    var aliceFile: String { path + "/home/alice/.ssh/authorized_keys" }

    func symlink(_ at: String, to target: String) throws {
      try? FileManager.default.removeItem(atPath: at)
      try FileManager.default.createSymbolicLink(atPath: at, withDestinationPath: target)
      lchown(at, 2001, 2001)
    }
  }

  static let attacks: [Attack] = [
    Attack(name: "authorized_keys -> root's file", reasons: ["is a symlink"]) {
      try $0.symlink($0.aliceFile, to: "/root/.ssh/authorized_keys")
    },
    Attack(
      name: "authorized_keys -> root's file, follow: true", rule: "follow: true", reasons: ["owned by uid 0"]
    ) {
      try $0.symlink($0.aliceFile, to: "/root/.ssh/authorized_keys")
    },
    Attack(
      name: "authorized_keys -> a file outside the root, follow: true", rule: "follow: true",
      reasons: ["symlink"]
    ) {
      try $0.symlink($0.aliceFile, to: "../../../../../../../../" + $0.outside + "/victim")
    },
    Attack(name: "~/.ssh -> /root/.ssh", reasons: ["is a symlink"]) {
      try FileManager.default.removeItem(atPath: $0.path + "/home/alice/.ssh")
      try $0.symlink($0.path + "/home/alice/.ssh", to: "/root/.ssh")
    },
    Attack(name: "~/.ssh -> /root/.ssh, follow: true", rule: "follow: true", reasons: ["owned by uid 0"]) {
      try FileManager.default.removeItem(atPath: $0.path + "/home/alice/.ssh")
      try $0.symlink($0.path + "/home/alice/.ssh", to: "/root/.ssh")
    },
    Attack(name: "home -> /root", reasons: ["symlink"]) {
      try FileManager.default.removeItem(atPath: $0.path + "/home/alice")
      try $0.symlink($0.path + "/home/alice", to: "/root")
    },
    Attack(
      name: "home -> outside the root, follow: true", rule: "follow: true",
      reasons: ["home directory", "symlink"]
    ) {
      try FileManager.default.removeItem(atPath: $0.path + "/home/alice")
      try $0.symlink($0.path + "/home/alice", to: $0.outside)
    },
    Attack(
      name: "path %h/../bob/.ssh/authorized_keys", rule: "path: '%h/../bob/.ssh/authorized_keys'",
      reasons: ["'..'"]
    ) { _ in },
    Attack(name: "path ../../..", rule: "path: '../../../etc/secret'", reasons: ["'..'"]) { _ in },
    Attack(
      name: "absolute path to bob's file", rule: "path: /home/bob/.ssh/authorized_keys",
      reasons: ["owned by uid 2002", "outside"]
    ) { _ in },
    Attack(
      name: "absolute path to root's file", rule: "path: /root/.ssh/authorized_keys",
      reasons: ["owned by uid 0", "outside"]
    ) { _ in },
    Attack(
      name: "absolute path to /etc/secret", rule: "path: /etc/secret", reasons: ["owned by uid 0", "outside"]
    ) { _ in },
    Attack(name: "hard link to bob's file", reasons: ["owned by uid 2002"]) {
      link($0.path + "/home/bob/.ssh/authorized_keys", $0.aliceFile)
    },
    Attack(name: "hard link to root's secret", reasons: ["owned by uid 0"]) {
      link($0.path + "/etc/secret", $0.aliceFile)
    },
    Attack(name: "FIFO", reasons: ["not a regular file"]) {
      mkfifo($0.aliceFile, 0o600)
      chown($0.aliceFile, 2001, 2001)
    },
    Attack(name: "character device", reasons: ["not a regular file"]) {
      mknod($0.aliceFile, S_IFCHR | 0o600, dev_t(1 << 8 | 5))  // major 1, minor 5: /dev/zero
      chown($0.aliceFile, 2001, 2001)
    },
    Attack(name: "1 GiB sparse file", reasons: ["over the 16 MiB limit"]) {
      let fd = open($0.aliceFile, O_WRONLY | O_CREAT, 0o600)
      ftruncate(fd, 1 << 30)
      close(fd)
      chown($0.aliceFile, 2001, 2001)
    },
    Attack(name: "authorized_keys owned by bob", reasons: ["owned by uid 2002"]) {
      try (TestKeys.carol + "\n").write(toFile: $0.aliceFile, atomically: false, encoding: .utf8)
      chown($0.aliceFile, 2002, 2002)
    },
    Attack(name: "~/.ssh owned by bob", reasons: ["owned by uid 2002"]) {
      chown($0.path + "/home/alice/.ssh", 2002, 2002)
    },
    Attack(
      name: "planted symlinked backup + rollback", command: ["rollback", "alice@img", "--auto-approve"],
      reasons: ["skipped backup"]
    ) {
      try (TestKeys.alice + "\n").write(toFile: $0.aliceFile, atomically: false, encoding: .utf8)
      chown($0.aliceFile, 2001, 2001)
      try $0.symlink($0.aliceFile + ".keyward-backup.29991231T000000Z", to: "/etc/secret")
    },
    Attack(
      name: "planted hard-linked backup of root's secret + rollback",
      command: ["rollback", "alice@img", "--auto-approve"], reasons: ["skipped backup"]
    ) {
      try (TestKeys.alice + "\n").write(toFile: $0.aliceFile, atomically: false, encoding: .utf8)
      chown($0.aliceFile, 2001, 2001)
      link($0.path + "/etc/secret", $0.aliceFile + ".keyward-backup.29991231T000000Z")
    },
  ]

  static func manifest(_ rule: String) -> String {
    LocalApplyTests.manifestHeader + """
        - hosts: [img]
          users: [alice]
          keys: [alice, bob]
          mode: exclusive
      \(rule.isEmpty ? "" : "    " + rule + "\n")
      """
  }

  /// Runs the binary under `timeout`, so that a blocking open fails the test instead of hanging it.
  static func keyward(_ arguments: [String], seconds: Int = 20) throws -> (
    status: Int32, output: String, time: Double
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["\(seconds)", KeywardProcess.executable.path] + arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    process.environment = env
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    process.standardInput = FileHandle.nullDevice
    let start = Date()
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), Date().timeIntervalSince(start))
  }

  @Test("every attack is refused with its reason and changes nothing outside alice's reach")
  func attacks() throws {
    var tried = 0
    for attack in Self.attacks {
      let tree = try Tree()
      try attack.prepare(tree)
      let manifest = tree.path + "/keys.yaml"
      try Self.manifest(attack.rule).write(toFile: manifest, atomically: true, encoding: .utf8)
      let before = tree.watch()
      let local = ["--local", "--root", tree.path, "--host", "img"]
      let command =
        attack.command.first == "rollback"
        ? attack.command + ["--manifest", manifest] + local
        : [attack.command[0], manifest] + attack.command.dropFirst() + local
      let run = try Self.keyward(command)
      tried += 1
      #expect(run.status == 1, "\(attack.name): status \(run.status)\n\(run.output)")
      #expect(run.status != 124, "\(attack.name): keyward blocked")
      #expect(
        attack.reasons.contains { run.output.contains($0) },
        "\(attack.name): no reason among \(attack.reasons) in:\n\(run.output)")
      #expect(tree.watch() == before, "\(attack.name): a watched file changed")
      print("local attack '\(attack.name)': refused in \(String(format: "%.2f", run.time)) s")
    }
    print("local attacks tried: \(tried)")
    #expect(tried == Self.attacks.count)
  }
}

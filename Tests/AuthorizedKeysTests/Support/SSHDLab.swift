import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One real sshd host started with `scripts/fleet` (users root, alice, bob, deploy), for
/// judging authorized_keys lines by real logins. Always stopped by ``with(subnet:_:)``.
final class SSHDLab: Sendable {
  let directory: String
  let subnet: Int

  static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
  }()

  /// What is missing to start a lab here, or `nil`.
  static var missingPrerequisite: String? {
    if getuid() != 0 { return "root (sshd runs in private mount namespaces)" }
    for tool in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/unshare"]
    where !FileManager.default.isExecutableFile(atPath: tool) {
      return tool
    }
    if !FileManager.default.isExecutableFile(atPath: packageRoot + "/scripts/fleet") {
      return "scripts/fleet"
    }
    return nil
  }

  /// Runs wherever it can, and always in CI, where a missing prerequisite fails the test.
  static var enabled: Bool { missingPrerequisite == nil || SSHKeygen.isCI }

  private init(directory: String, subnet: Int) {
    self.directory = directory
    self.subnet = subnet
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// Starts one host on 127.0.`subnet`.1 (or a free subnet near it), runs `body`, stops it.
  static func with<T>(subnet: Int, _ body: (SSHDLab) throws -> T) throws -> T {
    if let missing = missingPrerequisite {
      throw Failure(description: "cannot start sshd: missing \(missing)")
    }
    let temporary = try TemporaryDirectory(prefix: "keyward-sshd")
    let directory = temporary.url.path + "/lab"
    let script = packageRoot + "/scripts/fleet"
    var candidate = subnet
    for attempt in 0..<6 {
      let up = try Subprocess.run(script, ["up", "1", directory, "--subnet", String(candidate)])
      if up.status == 0 {
        defer { _ = try? Subprocess.run(script, ["down", directory]) }
        return try body(SSHDLab(directory: directory, subnet: candidate))
      }
      _ = try? Subprocess.run(script, ["down", directory])
      guard up.stderr.contains("already in use"), attempt < 5 else {
        throw Failure(description: "fleet up failed: \(up.stderr)")
      }
      candidate = 20 + (candidate - 20 + 41) % 230
    }
    throw Failure(description: "no free subnet for an sshd lab")
  }

  /// Replaces `user`'s authorized_keys with `bytes`, owned by the user, mode 0600.
  func writeAuthorizedKeys(_ bytes: [UInt8], user: String, uid: uid_t) throws {
    let path = "\(directory)/hosts/host1/home/\(user)/.ssh/authorized_keys"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    guard chown(path, uid, uid) == 0, chmod(path, 0o600) == 0 else {
      throw Failure(description: "cannot set owner and mode of \(path)")
    }
  }

  /// Whether `ssh -F ssh_config -i key user@lab1 true` logs in and succeeds.
  func canLogIn(user: String, privateKey: String) throws -> (Bool, String) {
    let result = try Subprocess.run(
      "/usr/bin/ssh",
      [
        "-F", directory + "/ssh_config", "-i", privateKey, "-o", "ConnectTimeout=10",
        "-o", "IdentityAgent=none", "\(user)@lab1", "true",
      ])
    return (result.status == 0, result.stderr)
  }
}

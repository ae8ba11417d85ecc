import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A running lab of real sshd hosts (`scripts/fleet`), for integration tests.
///
/// Use `Fleet.with(hosts:subnet:)`: it always stops the lab, even when the test fails. Each test
/// picks its own subnet so tests running in parallel never collide.
public final class Fleet: Sendable {
  public let dir: String
  public let count: Int
  public let subnet: Int
  /// `--host-config` arguments (host index = file), kept for `restart`.
  let extraArguments: [String]

  public static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }()

  public static var script: String { packageRoot + "/scripts/fleet" }

  /// What is missing to run a fleet here, or nil when everything is present.
  public static var missingPrerequisite: String? {
    if getuid() != 0 { return "root (fleet tests start sshd in mount namespaces)" }
    for tool in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/unshare"]
    where !FileManager.default.isExecutableFile(atPath: tool) {
      return tool
    }
    return nil
  }

  /// Fleet tests run wherever they can, and always in CI (where a missing prerequisite fails).
  public static var enabled: Bool {
    missingPrerequisite == nil || ProcessInfo.processInfo.environment["CI"] == "true"
  }

  private init(dir: String, count: Int, subnet: Int, extraArguments: [String] = []) {
    self.dir = dir
    self.count = count
    self.subnet = subnet
    self.extraArguments = extraArguments
  }

  /// Starts `hosts` hosts on 127.0.`subnet`.x, runs `body`, and always stops them.
  /// `sshdConfig[i]` is extra sshd configuration for host i (read before the lab's own lines);
  /// the hosts in `userCA` trust the lab's user CA (`signUserKey`).
  public static func with<T>(
    hosts: Int, subnet: Int, sshdConfig: [Int: String] = [:], userCA: Set<Int> = [],
    _ body: (Fleet) async throws -> T
  ) async throws -> T {
    if let missing = missingPrerequisite {
      throw FleetError(message: "cannot start a fleet: missing \(missing)")
    }
    let dir = try makeTemporaryDirectory()
    var extra: [String] = []
    for (index, text) in sshdConfig.sorted(by: { $0.key < $1.key }) {
      let file = "\(dir)/host\(index)-extra.conf"
      try text.write(toFile: file, atomically: true, encoding: .utf8)
      extra += ["--host-config", "\(index)=\(file)"]
    }
    for index in userCA.sorted() { extra += ["--user-ca", String(index)] }
    do {
      let result = try await start(dir: dir, hosts: hosts, subnet: subnet, extra: extra, body)
      await stop(dir)
      return result
    } catch {
      await stop(dir)
      throw error
    }
  }

  private static func start<T>(
    dir: String, hosts: Int, subnet: Int, extra: [String], _ body: (Fleet) async throws -> T
  ) async throws -> T {
    // The subnet is a preference: when another lab (another worktree's tests) holds it, move on.
    let span = (hosts - 1) / 254 + 1
    var candidate = subnet
    for attempt in 0..<6 {
      let next = candidate
      let up = try await offPool {
        try run(script, ["up", String(hosts), dir, "--subnet", String(next)] + extra)
      }
      if up.status == 0 {
        return try await body(Fleet(dir: dir, count: hosts, subnet: candidate, extraArguments: extra))
      }
      guard up.output.contains("already in use"), attempt < 5 else {
        throw FleetError(message: "fleet up failed: \(up.output)")
      }
      candidate = 20 + (candidate - 20 + 37 * span) % (230 - span)
    }
    throw FleetError(message: "no free subnet for a fleet")
  }

  private static func stop(_ dir: String) async {
    _ = try? await offPool { try run(script, ["down", dir]) }
    try? FileManager.default.removeItem(atPath: dir)
  }

  /// Runs blocking work (processes, logins) on its own thread, off Swift concurrency's pool,
  /// which has only as many threads as cores and is shared by every suite in this process.
  public static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      Thread { continuation.resume(with: Result { try body() }) }.start()
    }
  }

  public static func makeTemporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/keyward-fleet.XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw FleetError(message: "mkdtemp failed") }
    return String(cString: made)
  }

  /// Stops and starts every host again (same host keys, fresh account files): open sessions die.
  public func restart() async throws {
    let (dir, count, subnet, extra) = (dir, count, subnet, extraArguments)
    let down = try await Fleet.offPool { try Fleet.run(Fleet.script, ["down", dir]) }
    guard down.status == 0 else { throw FleetError(message: "fleet down failed: \(down.output)") }
    let up = try await Fleet.offPool {
      try Fleet.run(Fleet.script, ["up", String(count), dir, "--subnet", String(subnet)] + extra)
    }
    guard up.status == 0 else { throw FleetError(message: "fleet up failed: \(up.output)") }
  }

  public var sshConfig: String { dir + "/ssh_config" }
  public var knownHosts: String { dir + "/known_hosts" }
  public var adminKey: String { dir + "/admin_ed25519" }
  public var adminPublicKey: String {
    (try? String(contentsOfFile: adminKey + ".pub", encoding: .utf8)) ?? ""
  }

  public func name(_ index: Int) -> String { "lab\(index)" }
  public var names: [String] { (1...count).map(name) }

  public func address(_ index: Int) -> String {
    "127.0.\(subnet + (index - 1) / 254).\(1 + (index - 1) % 254)"
  }

  /// The directory that holds `user`'s home on host `index` (the host sees it as /home/USER).
  public func home(_ index: Int, _ user: String) -> String {
    user == "root" ? "\(dir)/hosts/host\(index)/root" : "\(dir)/hosts/host\(index)/home/\(user)"
  }

  /// The directory host `index` sees as /etc/ssh/sshd_config.d (root-owned, 0755).
  public func sshdConfigDirectory(_ index: Int) -> String { "\(dir)/hosts/host\(index)/sshd_config.d" }

  public func authorizedKeys(_ index: Int, _ user: String) -> String {
    home(index, user) + "/.ssh/authorized_keys"
  }

  public static let uids = ["root": UInt32(0), "alice": 2001, "bob": 2002, "deploy": 2003]

  /// Logs in with the real OpenSSH client and runs `command`.
  public func ssh(_ user: String, _ host: Int, identity: String? = nil, _ command: String = "true")
    async throws -> (
      status: Int32, output: String
    )
  {
    // Only the given key is offered: no ssh_config (its IdentityFile would add the admin key).
    let arguments = [
      "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o",
      "KexAlgorithms=curve25519-sha256",
      "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
      "-i", identity ?? adminKey, "-l", user, address(host), command,
    ]
    return try await Fleet.offPool { try Fleet.run("/usr/bin/ssh", arguments) }
  }

  /// A copy of this lab's known_hosts (`NAME` in the lab directory) where host `index` has
  /// `publicLine` as its only key: an impostor, as far as a client using the copy can tell.
  public func knownHosts(_ name: String, impostor index: Int, publicLine: String) throws -> String {
    let known = try String(contentsOfFile: knownHosts, encoding: .utf8)
    var lines = known.split(separator: "\n").filter { !$0.hasPrefix("lab\(index),") }.map(String.init)
    lines.append("lab\(index),\(address(index)) \(publicLine)")
    let path = dir + "/" + name
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Writes a file as the host's own user would own it.
  public func install(_ text: String, at path: String, uid: UInt32, mode: mode_t = 0o600) throws {
    try install(bytes: Array(text.utf8), at: path, uid: uid, mode: mode)
  }

  /// Writes raw bytes (invalid UTF-8, NUL, CR all kept) as the host's own user would own it.
  public func install(bytes: [UInt8], at path: String, uid: UInt32, mode: mode_t = 0o600) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    guard chown(path, uid, uid) == 0, chmod(path, mode) == 0 else {
      throw FleetError(message: "cannot set owner and mode of \(path)")
    }
  }

  /// Generates a key pair (ed25519, or e.g. `rsa` with `bits` 3072) in the fleet directory;
  /// returns (private key path, public line).
  public func makeKey(_ name: String, type: String = "ed25519", bits: Int? = nil) throws -> (
    path: String, publicLine: String
  ) {
    let path = "\(dir)/\(name)"
    let size = bits.map { ["-b", String($0)] } ?? []
    let result = try Fleet.run(
      "/usr/bin/ssh-keygen", ["-q", "-t", type] + size + ["-N", "", "-C", name, "-f", path])
    guard result.status == 0 else { throw FleetError(message: "ssh-keygen failed: \(result.output)") }
    let line = try String(contentsOfFile: path + ".pub", encoding: .utf8)
    return (path, line.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  /// Signs the public key of `key` (a path from `makeKey`) with the lab's user CA for
  /// `principals`: writes `KEY-cert.pub`, which ssh loads beside the key. Returns its path.
  @discardableResult
  public func signUserKey(_ key: String, principals: [String]) throws -> String {
    let result = try Fleet.run(
      "/usr/bin/ssh-keygen",
      [
        "-q", "-s", "\(dir)/keys/user_ca", "-I", "keyward-test", "-n", principals.joined(separator: ","),
        key + ".pub",
      ])
    guard result.status == 0 else { throw FleetError(message: "ssh-keygen -s failed: \(result.output)") }
    return key + "-cert.pub"
  }

  @discardableResult
  public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil)
    throws
    -> (
      status: Int32, output: String
    )
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}

public struct FleetError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }

  public init(message: String) {
    self.message = message
  }
}

/// `stat` of a file on this machine (the fleet's host directories).
public struct FileFacts: Equatable {
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32

  public init?(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    mode = UInt32(info.st_mode) & 0o7777
    uid = info.st_uid
    gid = info.st_gid
  }
}

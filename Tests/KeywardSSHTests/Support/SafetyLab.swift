import Foundation
import KeywardCore
import KeywardTestSupport
import Synchronization

@testable import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// Helpers for the safety and fault-injection suites: processes of a lab host, file snapshots,
/// transports with fault hooks, and the keyward binary.
extension Fleet {
  /// The PID of host `index`'s sshd listener.
  func listenerPID(_ index: Int) throws -> Int32 {
    let text = try String(contentsOfFile: "\(dir)/hosts/host\(index)/run/sshd.pid", encoding: .utf8)
    guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw FleetError(message: "no listener pid for host \(index)")
    }
    return pid
  }

  /// PIDs of the sshd session processes (and their children) of host `index`: every process in
  /// the host's own mount namespace except its listener.
  func sessionPIDs(_ index: Int) -> [Int32] {
    guard let listener = try? listenerPID(index),
      let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(listener)/ns/mnt")
    else { return [] }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      pid != listener
        && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")) == namespace
    }
  }

  /// SIGKILLs every session process of host `index` (by PID, only inside that host's namespace).
  @discardableResult
  func killSessions(_ index: Int) -> Int {
    let pids = sessionPIDs(index)
    for pid in pids { kill(pid, SIGKILL) }
    return pids.count
  }

  /// Runs a shell command inside host `index`'s mount namespace.
  @discardableResult
  func inHost(_ index: Int, _ script: String) async throws -> (status: Int32, output: String) {
    let pid = try listenerPID(index)
    return try await Fleet.offPool {
      try Fleet.run("/usr/bin/nsenter", ["--mount=/proc/\(pid)/ns/mnt", "--", "/bin/sh", "-c", script])
    }
  }

  /// Every file, directory and symlink under host `index`'s homes and /root with its bytes'
  /// digest, mode and owner, except paths under `excluding` (relative, e.g. `home/alice/.ssh`).
  func snapshot(_ index: Int, excluding: [String] = []) -> [String: String] {
    let base = "\(dir)/hosts/host\(index)"
    var result: [String: String] = [:]
    for top in ["home", "root", "etc"] {
      guard let walker = FileManager.default.enumerator(atPath: base + "/" + top) else { continue }
      while let relative = walker.nextObject() as? String {
        let path = top + "/" + relative
        if excluding.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { continue }
        var info = stat()
        guard lstat(base + "/" + path, &info) == 0 else { continue }
        var facts = "\(info.st_mode) \(info.st_uid):\(info.st_gid)"
        if info.st_mode & S_IFMT == S_IFREG,
          let data = FileManager.default.contents(atPath: base + "/" + path)
        {
          facts += " " + ContentDigest.of(Array(data))
        } else if info.st_mode & S_IFMT == S_IFLNK {
          facts +=
            " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: base + "/" + path)) ?? "")
        }
        result[path] = facts
      }
    }
    return result
  }

  /// The bytes of a file on this machine.
  func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { Array($0) } }

  /// An SSH transport for this lab, optionally with fault hooks.
  func transport(
    hosts: [String: HostSpec] = [:], identity: String? = nil, passphrase: PassphraseSource = .none,
    faults: FaultInjection? = nil
  ) -> SSHTransport {
    var transport = SSHTransport(
      hosts: hosts,
      settings: SSHSettings(
        sshConfigFile: sshConfig, identityFiles: [identity ?? adminKey], parallelism: 8,
        connectTimeout: .seconds(3), operationTimeout: .seconds(10), targetDeadline: .seconds(30),
        passphrase: passphrase, useAgent: false))
    transport.faults = faults
    return transport
  }

  /// Runs the built keyward binary with this lab's ssh_config; `environment` adds variables.
  func keyward(_ arguments: [String], environment: [String: String] = [:]) async throws
    -> KeywardProcess.Result
  {
    var extra = environment
    extra["SSH_AUTH_SOCK"] = ""
    let (all, env, dir) = (arguments + ["--ssh-config", sshConfig], extra, dir)
    return try await Fleet.offPool {
      try KeywardProcess.run(all, environment: env, directory: dir)
    }
  }
}

/// A flag set once from a hook thread and read by the test.
final class Flag: Sendable {
  private let value = Mutex(false)
  /// Sets the flag; true only for the first caller.
  func set() -> Bool {
    value.withLock { old in
      defer { old = true }; return !old
    }
  }
  var isSet: Bool { value.withLock { $0 } }
}

/// Fails with a clear message when a safety prerequisite is missing and CI demands the test.
enum Prerequisite {
  static func require(_ tool: String) throws {
    guard FileManager.default.isExecutableFile(atPath: tool) else {
      throw FleetError(message: "missing \(tool): the safety suite needs it (it always runs in CI)")
    }
  }
}

import Foundation
import KeywardCore
import KeywardOpenSSH
import KeywardTestSupport
import Synchronization
import Testing

@testable import KeywardSSH

/// The two ways keyward reaches a host, as a test argument: every safety, fault-injection and
/// StrictModes test runs on both (`@Test(arguments: LabTransport.allCases)`), and prints how many
/// runs each transport made (`LabTransport.count`).
enum LabTransport: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case libssh2
  case openssh

  var testDescription: String { rawValue }

  /// A subnet for this transport's lab: the libssh2 run keeps the test's own, the OpenSSH run
  /// one 50 lower (100-109 and the like: unused by other suites).
  func subnet(_ base: Int) -> Int { self == .libssh2 ? base : base - 50 }

  /// Runs counted per transport, printed by each test so the output shows both ran.
  private static let runs = Mutex<[LabTransport: Int]>([:])

  /// Counts `n` runs on this transport and prints the totals so far.
  func count(_ n: Int, _ what: String) {
    let total = Self.runs.withLock { runs in
      runs[self, default: 0] += n
      return runs[self]!
    }
    print("[\(rawValue)] \(what): \(n) runs (\(total) on \(rawValue) so far in this process)")
  }
}

/// What a fault hook may do to the connection carrying a write.
struct LabConnection: Sendable {
  /// Cuts the connection: libssh2's socket shut down, or the OpenSSH master SIGKILLed.
  let cut: @Sendable () -> Void
}

/// A fault hook for either transport.
typealias LabFault = @Sendable (SafeReplace.Checkpoint, LabConnection) -> Void

/// Either transport, closable.
protocol LabChannel: Transport {
  func closeSessions()
}

extension SSHTransport: LabChannel {}

extension OpenSSHTransport: LabChannel {
  func closeSessions() { close() }
}

extension Fleet {
  /// PIDs of the `ssh` processes started with `config` (default: this lab's ssh_config) on
  /// their command line: the processes a transport or a keyward run started for this lab.
  func sshProcesses(config: String? = nil) -> [Int32] {
    let wanted = config ?? sshConfig
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
      let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      return argv.first == "/usr/bin/ssh" && argv.contains(wanted)
    }
  }

  /// A transport of `kind` for this lab (keyward's options as the CLI would pass them).
  func transport(
    _ kind: LabTransport, hosts: [String: HostSpec] = [:], identity: String? = nil,
    knownHosts: String? = nil, fault: LabFault? = nil
  ) -> any LabChannel {
    switch kind {
    case .libssh2:
      var ssh = SSHTransport(
        hosts: hosts,
        settings: SSHSettings(
          sshConfigFile: sshConfig, identityFiles: [identity ?? adminKey], knownHostsFile: knownHosts,
          parallelism: 8, connectTimeout: .seconds(3), operationTimeout: .seconds(10),
          targetDeadline: .seconds(30), passphrase: .none, useAgent: false))
      ssh.faults = fault.map { fault in
        FaultInjection { point, fd in
          let checkpoint: SafeReplace.Checkpoint =
            switch point {
            case .afterLock: .afterLock
            case .writing(let offset, let total): .writing(offset: offset, total: total)
            case .afterTemp: .afterTemp
            case .beforeRename: .beforeRename
            }
          fault(checkpoint, LabConnection(cut: { SSHSession.abort(fd: fd) }))
        }
      }
      return ssh
    case .openssh:
      let ssh = OpenSSHTransport(
        hosts: hosts,
        settings: OpenSSHSettings(
          sshConfigFile: sshConfig, identityFiles: [identity ?? adminKey], knownHostsFile: knownHosts,
          parallelism: 8, connectTimeout: .seconds(3), operationTimeout: .seconds(10),
          loginTimeout: .seconds(30), agentSocket: nil))
      ssh.faults = fault.map { fault in
        OpenSSHFaults { point, processes in
          fault(point, LabConnection(cut: { processes.killMaster() }))
        }
      }
      return ssh
    }
  }
}

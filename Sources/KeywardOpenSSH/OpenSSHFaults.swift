import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Test-only fault injection in the write path of the OpenSSH-client transport: a hook called
/// at `SafeReplace`'s checkpoints with the processes carrying the write, so a test can kill the
/// master (the connection) or the client (the channel) exactly there.
public struct OpenSSHFaults: Sendable {
  /// The processes of the write in progress.
  public struct Processes: Sendable {
    /// The `ssh` master: killing it drops the connection.
    public var master: Int32
    /// The `ssh` client whose standard input and output carry the SFTP session.
    public var channel: Int32

    /// SIGKILLs the master (the connection dies mid-write).
    public func killMaster() { kill(master, SIGKILL) }
    /// SIGKILLs the SFTP client process (the channel dies, the master lives).
    public func killChannel() { kill(channel, SIGKILL) }
  }

  public var hook: @Sendable (SafeReplace.Checkpoint, Processes) -> Void

  public init(hook: @escaping @Sendable (SafeReplace.Checkpoint, Processes) -> Void) {
    self.hook = hook
  }

  /// `KEYWARD_TEST_FAULT=ssh-after-lock|ssh-after-temp|ssh-before-rename|ssh-write-offset:N` makes the
  /// process exit with status 70 there, as on the libssh2 path, its `ssh` processes killed first
  /// (a dying process's connections die with it; its `ssh` children would not). Debug builds only.
  static func fromEnvironment() -> OpenSSHFaults? {
    #if DEBUG
      guard let fault = TestFault(ProcessInfo.processInfo.environment["KEYWARD_TEST_FAULT"], prefix: "ssh-")
      else { return nil }
      return OpenSSHFaults { point, _ in
        guard fault.hits(point) else { return }
        SSHProcesses.stopAll(grace: .zero)
        _exit(70)
      }
    #else
      return nil
    #endif
  }
}

import Foundation
import KeywardCore
import SFTP

#if canImport(Glibc)
  import Glibc
#endif

/// One `ssh` master connection (ControlMaster) to one host as one login user, with its control
/// socket in the transport's private runtime directory. Clients over it (exec, sftp) share its
/// one authenticated connection. `close()` asks it to exit (`ssh -O exit`), then stops it by
/// PID: it is never left behind.
final class ControlMaster: @unchecked Sendable {
  let commandLine: SSHCommandLine
  let user: String
  let socket: String
  let log: String
  private let process: ProcessStream
  /// `SHA256:...` of the key the master logged in with, from its log.
  private(set) var loginKeyFingerprint: String?
  private var closed = false
  /// The process has been reaped: its PID must not be signalled any more.
  private var exited = false

  var host: String { commandLine.alias }
  var pid: pid_t { process.pid }

  /// Starts the master and waits until it has logged in (its control socket exists), it exits
  /// (the error carries what ssh said), or `loginTimeout` passes (it is stopped).
  init(commandLine: SSHCommandLine, user: String, socket: String, log: String) throws(TransportError) {
    self.commandLine = commandLine
    self.user = user
    self.socket = socket
    self.log = log
    let settings = commandLine.settings
    do {
      process = try ProcessStream(
        arguments: commandLine.master(user: user, socket: socket, log: log),
        environment: settings.environment,
        timeout: settings.operationTimeout, exitGrace: .seconds(1))
    } catch {
      throw OpenSSHErrors.spawn(commandLine.alias, step: .connect, error)
    }
    SSHProcesses.started(process.pid)
    let deadline = ContinuousClock.now + settings.loginTimeout
    while true {
      if Self.isSocket(socket) { break }
      var status: Int32 = 0
      if waitpid(process.pid, &status, WNOHANG) == process.pid {
        SSHProcesses.reaped(process.pid)
        closed = true
        process.close()
        throw OpenSSHErrors.masterFailed(commandLine.alias, user: user, stderr: Self.problems(in: log))
      }
      if ContinuousClock.now >= deadline {
        stop()
        throw OpenSSHErrors.masterTimeout(commandLine.alias, settings.loginTimeout)
      }
      usleep(5_000)
    }
    loginKeyFingerprint = Self.acceptedKey(in: log)
  }

  deinit { close() }

  /// True while the master process runs and its socket exists.
  var isAlive: Bool {
    guard !closed, Self.isSocket(socket) else { return false }
    var status: Int32 = 0
    guard waitpid(process.pid, &status, WNOHANG) == 0 else {
      exited = true
      return false
    }
    return true
  }

  /// `ssh -O exit`, then the process by PID (SIGKILL after a grace), reaped.
  func close() {
    guard !closed else { return }
    if isAlive,
      let stopper = try? ProcessStream(
        arguments: commandLine.exit(user: user, socket: socket),
        environment: commandLine.settings.environment,
        timeout: .seconds(5), exitGrace: .seconds(5))
    {
      SSHProcesses.started(stopper.pid)
      _ = try? stopper.read(maximum: 1024)
      stopper.close()
      SSHProcesses.reaped(stopper.pid)
    }
    stop()
  }

  /// Kills the master without asking (tests, and when it hangs).
  func abort() { if !exited { kill(process.pid, SIGKILL) } }

  private func stop() {
    closed = true
    process.close()
    SSHProcesses.reaped(process.pid)
    unlink(socket)
  }

  /// What ssh wrote that is not a debug line: its errors and warnings.
  static func problems(in log: String) -> String {
    guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return "" }
    let lines = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("debug") && !$0.isEmpty }
    return lines.suffix(4).joined(separator: "; ")
  }

  /// The fingerprint in `debug1: Server accepts key: PATH TYPE SHA256:...`, when present.
  static func acceptedKey(in log: String) -> String? {
    guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return nil }
    for line in text.split(whereSeparator: \.isNewline) where line.contains("Server accepts key:") {
      if let word = line.split(separator: " ").first(where: { $0.hasPrefix("SHA256:") }) {
        return String(word)
      }
    }
    return nil
  }

  static func isSocket(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
  }
}

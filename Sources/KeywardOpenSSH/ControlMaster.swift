import Foundation
import KeywardCore
import SFTP

#if canImport(Glibc)
  import Glibc
#endif

/// One `ssh` master connection (ControlMaster) to one host as one login user, with its control
/// socket in the transport's private runtime directory. Its own session is the login user's
/// `sftp` subsystem (its standard input and output carry keyward's SFTP client), so reaching a
/// user's own file costs one `ssh`, as `ssh host cat` does; clients over the socket (remote
/// commands, `sftp-server` as another user) share its one authenticated connection.
///
/// `close()` ends its session (EOF), then asks it to exit (`ssh -O exit`) if it is still there,
/// then stops it by PID (SIGKILL) and reaps it: it is never left behind.
final class ControlMaster: @unchecked Sendable {
  let commandLine: SSHCommandLine
  let user: String
  let socket: String
  let log: String
  private let process: ProcessStream
  /// The login user's SFTP session, over the master's own standard input and output.
  let files: SFTPOverSSH
  /// `SHA256:...` of the key the master logged in with, from its log.
  private(set) var loginKeyFingerprint: String?
  private var closed = false
  /// The process has been reaped: its PID must not be signalled any more.
  private var exited = false

  var host: String { commandLine.alias }
  var pid: pid_t { process.pid }

  /// Starts the master and waits until its SFTP session answers (it has logged in and its
  /// control socket exists), it exits (the error carries what ssh said), or `loginTimeout`
  /// passes (it is stopped).
  init(commandLine: SSHCommandLine, user: String, socket: String, log: String) throws(TransportError) {
    self.commandLine = commandLine
    self.user = user
    self.socket = socket
    self.log = log
    let settings = commandLine.settings
    let process: ProcessStream
    do {
      process = try ProcessStream(
        arguments: commandLine.master(user: user, socket: socket, log: log),
        environment: commandLine.environment, timeout: settings.loginTimeout, exitGrace: .milliseconds(500))
    } catch {
      throw OpenSSHErrors.spawn(commandLine.alias, step: .connect, error)
    }
    self.process = process
    SSHProcesses.started(process.pid)
    do throws(TransportError) {
      files = try SFTPOverSSH(host: commandLine.alias, user: user, stream: process)
    } catch {
      process.close()
      SSHProcesses.reaped(process.pid)
      closed = true
      exited = true
      unlink(socket)
      let problems = Self.problems(in: log)
      // The master logs to its file; what reached its stderr came from a jump hop's `ssh`.
      if let jump = commandLine.jump {
        let relayed = process.diagnostics.split(whereSeparator: \.isNewline)
          .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(4)
          .joined(separator: "; ")
        if !relayed.isEmpty { throw OpenSSHErrors.viaJump(commandLine.alias, jump, stderr: relayed) }
      }
      if error.code == .deadlineExceeded {
        throw OpenSSHErrors.masterTimeout(commandLine.alias, settings.loginTimeout, stderr: problems)
      }
      if problems.isEmpty && process.exitStatus == 0 { throw error }
      // ssh asks again for a key's passphrase only after the one given did not decrypt it.
      let undecrypted = (commandLine.askpass?.prompts(by: process.pid) ?? [:]).filter { $0.value > 1 }
      throw OpenSSHErrors.masterFailed(
        commandLine.alias, user: user, stderr: problems, undecryptedKeys: undecrypted.keys.sorted())
    }
    process.timeout = settings.operationTimeout
    // The socket is made before the session opens; wait briefly in case it lags.
    for _ in 0..<200 where !Self.isSocket(socket) { usleep(5_000) }
    loginKeyFingerprint = Self.acceptedKey(in: log)
  }

  deinit { close() }

  /// True while the master process runs and its socket exists.
  var isAlive: Bool {
    guard !closed, !exited, Self.isSocket(socket) else { return false }
    var status: Int32 = 0
    guard waitpid(process.pid, &status, WNOHANG) == 0 else {
      exited = true
      return false
    }
    return true
  }

  /// EOF on its session, so the master starts ending now; `close()` then waits for it. Lets a
  /// transport end all its masters side by side instead of one round trip after another.
  func beginClose() {
    guard !closed else { return }
    process.closeInput()
  }

  /// EOF on its session, `ssh -O exit` if it is still running, then the PID (SIGKILL), reaped.
  func close() {
    guard !closed else { return }
    closed = true
    process.closeInput()
    let deadline = ContinuousClock.now + .milliseconds(200)
    var status: Int32 = 0
    while !exited && ContinuousClock.now < deadline {
      if waitpid(process.pid, &status, WNOHANG) == process.pid { exited = true } else { usleep(2_000) }
    }
    if !exited,
      let stopper = try? ProcessStream(
        arguments: commandLine.exit(user: user, socket: socket),
        environment: commandLine.environment,
        timeout: .seconds(5), exitGrace: .seconds(5))
    {
      SSHProcesses.started(stopper.pid)
      _ = try? stopper.read(maximum: 1024)
      stopper.close()
      SSHProcesses.reaped(stopper.pid)
    }
    // ProcessStream.close waits its grace, then SIGKILLs the PID (unless it was reaped above).
    files.client.close()
    process.close()
    SSHProcesses.reaped(process.pid)
    unlink(socket)
  }

  /// Kills the master without asking (tests, and when it hangs).
  func abort() { if !exited && !closed { kill(process.pid, SIGKILL) } }

  /// What ssh wrote that is not a debug line: its errors and warnings.
  static func problems(in log: String) -> String {
    guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return "" }
    let lines = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("debug") && !$0.isEmpty }
    return lines.suffix(4).joined(separator: "; ")
  }

  /// The fingerprint in `debug1: Server accepts key: PATH TYPE SHA256:...`, when present.
  /// Scans the log's bytes (it holds every debug line of the login).
  static func acceptedKey(in log: String) -> String? {
    guard let data = FileManager.default.contents(atPath: log) else { return nil }
    return acceptedKey(inLog: Array(data))
  }

  static func acceptedKey(inLog bytes: [UInt8]) -> String? {
    let marker = Array("Server accepts key:".utf8)
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
      guard line.count >= marker.count,
        line.indices.contains(where: { start in
          start + marker.count <= line.endIndex && line[start..<(start + marker.count)].elementsEqual(marker)
        })
      else { continue }
      let words = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") })
      if let word = words.first(where: { $0.starts(with: Array("SHA256:".utf8)) }) {
        return String(decoding: word, as: UTF8.self)
      }
    }
    return nil
  }

  static func isSocket(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
  }
}

import KeywardCore

/// The login check after a write: a new `ssh` connection (`ControlPath=none`), handshake and
/// authentication as the target user, with the same options as the run's master.
struct FreshLogin: Sendable {
  let commandLine: SSHCommandLine

  func check(user: String) -> TransportError? {
    let settings = commandLine.settings
    let process: ProcessStream
    do {
      process = try ProcessStream(
        arguments: commandLine.freshLogin(user: user), environment: commandLine.environment,
        timeout: settings.loginTimeout)
    } catch {
      return OpenSSHErrors.spawn(commandLine.alias, step: .verify, error)
    }
    SSHProcesses.started(process.pid)
    defer { SSHProcesses.reaped(process.pid) }
    while let chunk = try? process.read(maximum: 4096), !chunk.isEmpty {}
    process.close()
    if process.exitStatus == 0 { return nil }
    return OpenSSHErrors.loginCheck(commandLine.alias, user, stderr: process.diagnostics)
  }
}

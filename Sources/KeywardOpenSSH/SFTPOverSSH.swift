import KeywardCore
import SFTP

/// An SFTP client over one `ssh` client process's standard input and output.
final class SFTPOverSSH {
  let host: String
  let user: String
  let stream: ProcessStream
  let client: SFTPClient
  let primitives: SFTPFilePrimitives

  convenience init(host: String, user: String, arguments: [String], commandLine: SSHCommandLine)
    throws(TransportError)
  {
    let stream: ProcessStream
    do {
      stream = try ProcessStream(
        arguments: arguments, environment: commandLine.environment,
        timeout: commandLine.settings.operationTimeout)
    } catch {
      throw OpenSSHErrors.spawn(host, step: .connect, error)
    }
    SSHProcesses.started(stream.pid)
    try self.init(host: host, user: user, stream: stream)
  }

  /// SFTP over an `ssh` already started (a client, or the master itself).
  init(host: String, user: String, stream: ProcessStream) throws(TransportError) {
    self.host = host
    self.user = user
    self.stream = stream
    do {
      client = try SFTPClient(stream: stream)
    } catch {
      stream.close()
      SSHProcesses.reaped(stream.pid)
      throw OpenSSHErrors.sftpStart(host, user: user, error, stderr: stream.diagnostics)
    }
    primitives = SFTPFilePrimitives(client: client)
  }

  /// The `ssh` client process (tests kill it to cut the channel).
  var pid: Int32 { stream.pid }

  /// One round trip.
  var isAlive: Bool { (try? client.realpath(".")) != nil }

  func close() {
    client.close()
    stream.close()
    SSHProcesses.reaped(stream.pid)
  }
}

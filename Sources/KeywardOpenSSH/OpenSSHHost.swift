import KeywardCore
import SFTP

/// One host reached as one login user over an `ssh` master: what was learned about its
/// accounts, and SFTP sessions with each target user's own rights. Used by one thread at a time.
final class OpenSSHHost: AccountCache, @unchecked Sendable {
  let master: ControlMaster
  let commandLine: SSHCommandLine
  var host: String { commandLine.alias }
  var loginUser: String { master.user }
  /// Accounts by user name, from `getent passwd` or the login user's own home.
  var accounts: [String: PasswdEntry] = [:]
  /// Where the host keeps `sftp-server` and `setpriv` (probed once, when logged in as root).
  var helpers: ActAsUser.Helpers?
  /// Open SFTP sessions by the user whose rights they have, most recently used last.
  private var sessions: [(user: String, session: SFTPOverSSH)] = []

  /// Each SFTP session is one `ssh` client process and one channel of the master.
  static let openSessionLimit = 4

  init(master: ControlMaster, commandLine: SSHCommandLine) {
    self.master = master
    self.commandLine = commandLine
  }

  var isAlive: Bool { master.isAlive }

  /// EOF to every session and to the master: they start ending; `close()` waits for them.
  func beginClose() {
    for entry in sessions { entry.session.stream.closeInput() }
    master.beginClose()
  }

  func close() {
    for entry in sessions { entry.session.stream.closeInput() }
    for entry in sessions { entry.session.close() }
    sessions.removeAll()
    master.close()
  }

  /// Runs `command` over the master; its standard output, error and exit status. keyward asks
  /// the master for the session itself (``MuxClient``): no `ssh` client process per command.
  func exec(_ command: String, step: TransportError.Step) throws(TransportError) -> (
    status: Int32, stdout: [UInt8], stderr: String
  ) {
    guard master.isAlive else { throw OpenSSHErrors.masterLost(host) }
    let result: (status: Int32, stdout: [UInt8], stderr: String)
    do {
      result = try MuxClient.run(
        socket: master.socket, command: command, timeout: commandLine.settings.operationTimeout)
    } catch {
      throw OpenSSHErrors.stream(host, step: step, error)
    }
    if result.status == 255 {
      throw OpenSSHErrors.exec(
        host, step: step, command: command, status: result.status, stderr: result.stderr)
    }
    return result
  }

  /// An SFTP session with the rights of `user`: the master's own `sftp` session when logged in
  /// as that user (or as another user than root: its rights, as on the libssh2 path), else, as
  /// root, the host's `sftp-server` started as the user under `setpriv` over the master.
  func files(for user: String, account: PasswdEntry?) throws(TransportError) -> SFTPOverSSH {
    if user == loginUser || loginUser != "root" {
      guard master.isAlive else { throw OpenSSHErrors.masterLost(host) }
      return master.files
    }
    if let index = sessions.firstIndex(where: { $0.user == user }) {
      let entry = sessions.remove(at: index)
      if entry.session.isAlive {
        sessions.append(entry)
        return entry.session
      }
      entry.session.close()
    }
    // Root acting for another user: the host's sftp-server with that user's own rights.
    guard let account else { throw OpenSSHErrors.userUnknown(host, user) }
    let helpers = try probedHelpers()
    let command: String
    switch ActAsUser.command(uid: account.uid, gid: account.gid, helpers: helpers) {
    case .success(let text): command = text
    case .failure(let missing): throw missing.refusal(host: host, user: user)
    }
    let arguments = commandLine.exec(user: loginUser, socket: master.socket, command: command)
    let session = try SFTPOverSSH(
      host: host, user: user, arguments: arguments, commandLine: commandLine)
    sessions.append((user, session))
    while sessions.count > Self.openSessionLimit { sessions.removeFirst().session.close() }
    return session
  }

  /// As root, starts the SFTP sessions of up to `openSessionLimit` of these accounts at once
  /// (their `ssh` clients, the remote `setpriv` and `sftp-server` start side by side instead of
  /// one after the other). A session that fails to start is dropped here: `files(for:account:)`
  /// starts it again and reports why.
  func prepareFiles(for accounts: [PasswdEntry]) {
    guard loginUser == "root", let helpers = try? probedHelpers() else { return }
    let wanted = accounts.filter { account in
      account.name != loginUser && !sessions.contains { $0.user == account.name }
    }.prefix(max(0, Self.openSessionLimit - sessions.count))
    var started: [(PasswdEntry, ProcessStream)] = []
    for account in wanted {
      guard
        case .success(let command) = ActAsUser.command(uid: account.uid, gid: account.gid, helpers: helpers),
        let stream = try? ProcessStream(
          arguments: commandLine.exec(user: loginUser, socket: master.socket, command: command),
          environment: commandLine.environment, timeout: commandLine.settings.operationTimeout)
      else { continue }
      SSHProcesses.started(stream.pid)
      started.append((account, stream))
    }
    for (account, stream) in started {
      if let session = try? SFTPOverSSH(host: host, user: account.name, stream: stream) {
        sessions.append((account.name, session))
      } else {
        stream.close()
        SSHProcesses.reaped(stream.pid)
      }
    }
  }

  private func probedHelpers() throws(TransportError) -> ActAsUser.Helpers {
    if let helpers { return helpers }
    let result = try exec(ActAsUser.probeScript, step: .connect)
    let found = ActAsUser.parse(String(decoding: result.stdout, as: UTF8.self))
    helpers = found
    return found
  }
}

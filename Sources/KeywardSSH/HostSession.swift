import KeywardCore

/// An authenticated session to one host as one login user, with what was learned about the
/// host's accounts. Used by one thread at a time; reused for every target reached through it.
final class HostSession: AccountCache, @unchecked Sendable {
  let session: SSHSession
  let host: String
  let loginUser: String
  /// `SHA256:...` of the key that authenticated, when known.
  let loginKeyFingerprint: String?
  /// Accounts by user name, from `getent passwd` (connect_as) or the login user's home.
  var accounts: [String: PasswdEntry] = [:]
  /// Where the host keeps `sftp-server` and `setpriv` (probed once, when logged in as root).
  var helpers: ActAsUser.Helpers?
  /// Open SFTP sessions by the user whose rights they have, most recently used last.
  private var files: [(user: String, files: RemoteFiles)] = []

  /// sshd's default `MaxSessions` is 10: keep well below it.
  static let openFileSessionLimit = 4

  init(session: SSHSession, host: String, loginUser: String, loginKeyFingerprint: String?) {
    self.session = session
    self.host = host
    self.loginUser = loginUser
    self.loginKeyFingerprint = loginKeyFingerprint
  }

  func close() {
    for entry in files { entry.files.close() }
    files.removeAll()
    session.close()
  }

  /// One SFTP round trip: false (and the session closed) when the server has gone away since
  /// the session was last used.
  func isAlive() -> Bool {
    // Any open SFTP session answers for the connection; open one only when there is none.
    if let recent = files.last?.files, recent.isAlive() { return true }
    if files.isEmpty, let opened = try? self.files(for: loginUser, account: nil), opened.isAlive() {
      return true
    }
    close()
    return false
  }

  /// An SFTP session with the rights of `user`: the `sftp` subsystem when logged in as that
  /// user (or when root acts for root), else the host's `sftp-server` started as the user under
  /// `setpriv` in an exec channel. Refuses (with the reason) when root would have to act for
  /// another user and the host cannot drop privileges.
  func files(for user: String, account: PasswdEntry?) throws(TransportError) -> RemoteFiles {
    if let index = files.firstIndex(where: { $0.user == user }) {
      let entry = files.remove(at: index)
      files.append(entry)
      return entry.files
    }
    let stream: SSHChannelStream
    if loginUser == "root" && user != "root" {
      guard let account else {
        throw TransportError(
          code: .userUnknown, host: host, step: .connect, message: "no account known for '\(user)'")
      }
      let command = try helperCommand(uid: account.uid, gid: account.gid, user: user)
      stream = try session.openStream(exec: command, step: .connect)
    } else {
      stream = try session.openStream(subsystem: "sftp", step: .connect)
    }
    let opened = try RemoteFiles(host: host, user: user, stream: stream)
    files.append((user, opened))
    while files.count > Self.openFileSessionLimit {
      files.removeFirst().files.close()
    }
    return opened
  }

  /// `'/usr/bin/setpriv' --reuid=UID --regid=GID --init-groups -- '/usr/lib/openssh/sftp-server'`,
  /// from probed absolute paths and numeric ids only (`ActAsUser`).
  private func helperCommand(uid: UInt32, gid: UInt32, user: String) throws(TransportError) -> String {
    switch ActAsUser.command(uid: uid, gid: gid, helpers: try probedHelpers()) {
    case .success(let command): return command
    case .failure(let missing): throw missing.refusal(host: host, user: user)
    }
  }

  private func probedHelpers() throws(TransportError) -> ActAsUser.Helpers {
    if let helpers { return helpers }
    let result = try session.exec(ActAsUser.probeScript, step: .connect)
    let found = ActAsUser.parse(String(decoding: result.stdout, as: UTF8.self))
    helpers = found
    return found
  }
}

import Foundation
import KeywardCore

/// Reads and writes one target's file over an authenticated session, through the core's one
/// fetch (`TargetReader`) and one write sequence (`SafeReplace`), over an SFTP session that has
/// the target user's own rights (`HostSession.files(for:account:)`).
struct TargetOperations {
  let host: HostSession
  /// Every user this session will be asked about, fetched with one `getent` call.
  var groupUsers: [String] = []
  /// Logs in afresh after a write (`WriteRequest.verifyLogin`); nil: no check.
  var verifier: LoginVerifier?
  /// Test-only hooks in the write path.
  var faults: FaultInjection?

  private var name: String { host.host }

  // MARK: accounts

  /// Home directory, uid and gid of `user` on the host.
  func account(for user: String) throws(TransportError) -> PasswdEntry {
    if let known = host.accounts[user] { return known }
    if user == host.loginUser {
      let files = try host.files(for: user, account: nil)
      let home = try files.realpath(".", step: .read)
      guard let status = try files.attributes(home, follow: true, step: .read) else {
        throw TransportError(
          code: .userUnknown, host: name, step: .read,
          message: "the home directory '\(home)' of '\(user)' is missing")
      }
      let account = PasswdEntry(name: user, uid: status.uid, gid: status.gid, home: home)
      host.accounts[user] = account
      return account
    }
    try lookUpAccounts(Array(Set(groupUsers + [user])).sorted())
    guard let account = host.accounts[user] else { throw AccountLookup.unknown(user, host: name) }
    return account
  }

  private func lookUpAccounts(_ users: [String]) throws(TransportError) {
    guard let command = host.accountLookup(users) else { return }
    let result = try host.session.exec(command.text, step: .read)
    try host.absorb(
      String(decoding: result.stdout, as: UTF8.self), stderr: String(decoding: result.stderr, as: UTF8.self),
      command)
  }

  // MARK: fetch and write, through the core's one sequence

  /// What the session's primitives act as: root only when root acts for root (or the login
  /// user for itself when that is root); root-owned files only for root's own targets.
  private func policy(for user: String) -> AccessPolicy {
    AccessPolicy(privileged: host.loginUser == "root" && user == "root", rootOwnedAllowed: user == "root")
  }

  /// Reads one target with the user's own rights (`TargetReader`).
  func fetch(_ request: FetchRequest) throws(TransportError) -> ObservedTarget {
    let user = request.id.user
    let account = try account(for: user)
    let files = try host.files(for: user, account: account)
    let result = TargetReader(files: files.primitives, policy: policy(for: user)).read(
      request, account: account, loginKeyFingerprint: host.loginKeyFingerprint)
    var observed = try result.get()
    // The login account and its home: the planner guards the login key on every file sshd
    // reads for that account, whichever target names it.
    observed.loginUser = host.loginUser
    observed.loginHome = try? self.account(for: host.loginUser).home
    return observed
  }

  /// Writes one target with the user's own rights (`SafeReplace`), with the fresh-login check
  /// when the new file authorizes the key this run logged in with. A failed write is returned
  /// (`.failed`) with its warnings, not thrown.
  func write(_ request: WriteRequest) throws(TransportError) -> WriteResult {
    let user = request.id.user
    let account = try account(for: user)
    let files = try host.files(for: user, account: account)
    let fingerprint = host.loginKeyFingerprint
    let verifier = self.verifier
    let fd = host.session.fd
    let faults = self.faults
    let replace = SafeReplace(
      files: files.primitives, account: account, policy: policy(for: user),
      loginCheck: { request in
        guard let verifier, let fingerprint,
          LoginVerifier.authorizes(request.content, fingerprint: fingerprint)
        else { return nil }
        return verifier.check(host: request.id.host, user: request.id.user)
      },
      checkpoint: faults.map { faults in { point in faults.hook(point, fd) } })
    return replace.write(request)
  }
}

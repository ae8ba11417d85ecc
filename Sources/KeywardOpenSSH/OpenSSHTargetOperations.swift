import AuthorizedKeys
import KeywardCore
import SFTP

/// Reads and writes one target's file over an `ssh` master, through the core's one fetch
/// (`TargetReader`) and one write sequence (`SafeReplace`), over an SFTP session with the
/// target user's own rights (`OpenSSHHost.files(for:account:)`).
struct OpenSSHTargetOperations {
  let host: OpenSSHHost
  /// Every user this host will be asked about, fetched with one `getent` call.
  var groupUsers: [String] = []
  var faults: OpenSSHFaults?

  private var name: String { host.host }

  /// Home directory and ids of `user` on the host.
  func account(for user: String) throws(TransportError) -> PasswdEntry {
    if let known = host.accounts[user] { return known }
    if user == host.loginUser {
      let files = try host.files(for: user, account: nil)
      let home: String
      let status: SFTPAttributesView
      do {
        // The home's name and its owner in one round trip (the session starts in the home).
        // Anything else than a name and attributes: asked again one by one, for their errors.
        let replies = try files.client.exchange([.realpath(path: "."), .stat(path: ".")])
        let attributes: SFTPAttributes
        if case .name(_, let names) = replies[0], names.count == 1,
          case .attributes(_, let found) = replies[1]
        {
          (home, attributes) = (names[0].filename, found)
        } else {
          home = try files.client.realpath(".")
          attributes = try files.client.stat(home)
        }
        status = SFTPAttributesView(uid: attributes.uid ?? .max, gid: attributes.gid ?? .max)
      } catch {
        throw OpenSSHErrors.sftp(name, step: .read, what: "could not find the home of '\(user)'", error)
      }
      let entry = PasswdEntry(name: user, uid: status.uid, gid: status.gid, home: home)
      host.accounts[user] = entry
      return entry
    }
    let wanted = Array(Set(groupUsers + [user])).sorted()
    try lookUpAccounts(wanted)
    guard let entry = host.accounts[user] else { throw AccountLookup.unknown(user, host: name) }
    host.prepareFiles(for: wanted.compactMap { host.accounts[$0] })
    return entry
  }

  private struct SFTPAttributesView {
    var uid: UInt32
    var gid: UInt32
  }

  private func lookUpAccounts(_ users: [String]) throws(TransportError) {
    guard let command = host.accountLookup(users) else { return }
    let result = try host.exec(command.text, step: .read)
    try host.absorb(String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr, command)
  }

  /// Root only when root acts for root; root-owned files only for root's own targets.
  private func policy(for user: String) -> AccessPolicy {
    AccessPolicy(privileged: host.loginUser == "root" && user == "root", rootOwnedAllowed: user == "root")
  }

  func fetch(_ request: FetchRequest) throws(TransportError) -> ObservedTarget {
    let user = request.id.user
    let entry = try account(for: user)
    let files = try host.files(for: user, account: entry)
    let result = TargetReader(files: files.primitives, policy: policy(for: user)).read(
      request, account: entry, loginKeyFingerprint: host.master.loginKeyFingerprint)
    var observed = try result.get()
    observed.loginUser = host.loginUser
    observed.loginHome = try? account(for: host.loginUser).home
    return observed
  }

  /// Writes with `SafeReplace`; the login check is a fresh `ssh` without the master.
  func write(_ request: WriteRequest, verifier: FreshLogin) throws(TransportError) -> WriteResult {
    let user = request.id.user
    let entry = try account(for: user)
    let files = try host.files(for: user, account: entry)
    let fingerprint = host.master.loginKeyFingerprint
    let processes = OpenSSHFaults.Processes(master: host.master.pid, channel: files.pid)
    let faults = self.faults
    let replace = SafeReplace(
      files: files.primitives, account: entry, policy: policy(for: user),
      loginCheck: { request in
        guard let fingerprint,
          AuthorizedKeysFile(bytes: request.content).entries.contains(where: {
            $0.key.fingerprint == fingerprint
          })
        else { return nil }
        return verifier.check(user: request.id.user)
      },
      checkpoint: faults.map { faults in { point in faults.hook(point, processes) } })
    let result = replace.write(request)
    if case .failed(let error) = result.outcome { throw error }
    return result
  }
}

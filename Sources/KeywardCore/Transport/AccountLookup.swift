import SFTP

/// The accounts a host will be asked about, found with one remote command: `getent passwd
/// USERS` (and, logged in as root without the helpers known yet, ``ActAsUser``'s helper probe
/// in the same round trip), and the reading of what it printed. Both SSH transports use it,
/// on its own or folded into the sshd-model probe.
public enum AccountLookup {
  /// What to run: nil when there is no valid user left to look up.
  public struct Command: Hashable, Sendable {
    public var text: String
    /// The users asked about (valid names not known yet).
    public var users: [String]
    /// The helper probe is part of it.
    public var probesHelpers: Bool
  }

  /// What the command found.
  public struct Answer: Sendable {
    public var accounts: [String: PasswdEntry]
    /// Set when the command probed the helpers.
    public var helpers: ActAsUser.Helpers?
  }

  /// `getent passwd USERS; echo "keyward-getent $?"` (plus the helper probe when
  /// `probeHelpers`) for the valid names in `users` that `isKnown` does not already know.
  public static func command(_ users: [String], probeHelpers: Bool, isKnown: (String) -> Bool) -> Command? {
    var seen = Set<String>()
    let valid = users.filter { ActAsUser.isValidUserName($0) && !isKnown($0) && seen.insert($0).inserted }
    guard !valid.isEmpty else { return nil }
    let text =
      "getent passwd " + valid.joined(separator: " ") + "; echo \"keyward-getent $?\""
      + (probeHelpers ? "; " + ActAsUser.probeScript : "")
    return Command(text: text, users: valid, probesHelpers: probeHelpers)
  }

  /// Reads what `command` printed; getent's own failure (not "some users missing", status 2)
  /// is the `getent-failed` error for `host`, logged in as `login`.
  public static func read(_ output: String, stderr: String, command: Command, host: String, login: String)
    throws(TransportError) -> Answer
  {
    var status: Int32 = 127
    if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("keyward-getent ") }),
      let code = Int32(line.dropFirst("keyward-getent ".count))
    {
      status = code
    }
    let helpers = command.probesHelpers ? ActAsUser.parse(output) : nil
    if status == 127 || (status != 0 && status != 2) {
      let said = SFTPError.sanitize(stderr.trimmingCharacters(in: .whitespacesAndNewlines), limit: 300)
      throw TransportError(
        code: .getentFailed, host: host, step: .read,
        message:
          "'getent passwd' failed with status \(status) as '\(login)'\(said.isEmpty ? "" : ": \(said)");"
          + " connect_as needs a shell account with getent")
    }
    let accounts = PasswdEntry.parse(output).filter { command.users.contains($0.key) }
    return Answer(accounts: accounts, helpers: helpers)
  }

  /// The error for a user `getent` did not know.
  public static func unknown(_ user: String, host: String) -> TransportError {
    TransportError(
      code: .userUnknown, host: host, step: .read,
      message:
        "user '\(user)' does not exist on '\(host)' (not in 'getent passwd'); create it or fix the manifest")
  }
}

/// A connection to one host as one login user that remembers the accounts (and, as root, the
/// helpers) it has found: what both SSH transports' sessions have in common for lookups.
public protocol AccountCache: AnyObject {
  var host: String { get }
  var loginUser: String { get }
  var accounts: [String: PasswdEntry] { get set }
  var helpers: ActAsUser.Helpers? { get set }
}

extension AccountCache {
  /// The lookup for those of `users` not known yet (with the helper probe, as root, until the
  /// helpers are known); nil when there is nothing to ask.
  public func accountLookup(_ users: [String]) -> AccountLookup.Command? {
    AccountLookup.command(users, probeHelpers: loginUser == "root" && helpers == nil) { accounts[$0] != nil }
  }

  /// Keeps what `command` printed: its accounts and helpers.
  public func absorb(_ output: String, stderr: String, _ command: AccountLookup.Command)
    throws(TransportError)
  {
    let answer = try AccountLookup.read(
      output, stderr: stderr, command: command, host: host, login: loginUser)
    if let helpers = answer.helpers { self.helpers = helpers }
    accounts.merge(answer.accounts) { _, new in new }
  }
}

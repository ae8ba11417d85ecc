/// What sshd on one host does for each user keyward asked about: the effective settings, and
/// the account they apply to. Read once per host and run (``SSHDModelSource``).
public struct SSHDModel: Hashable, Sendable, Codable {
  /// How the settings were learned.
  public enum Source: String, Hashable, Sendable, Codable {
    /// `sshd -T -C user=...` on the host, as root: what sshd itself computes.
    case sshdTest = "sshd -T"
    /// sshd_config and its includes read and evaluated by keyward: approximate.
    case config = "sshd_config"
  }

  /// One account on the host.
  public struct Account: Hashable, Sendable, Codable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String
    public var shell: String
    public var groups: [String]

    public init(
      name: String, uid: UInt32, gid: UInt32, home: String, shell: String = "", groups: [String] = []
    ) {
      self.name = name
      self.uid = uid
      self.gid = gid
      self.home = home
      self.shell = shell
      self.groups = groups
    }

    /// The account a `passwd(5)` entry describes (its groups still to be filled in).
    public init(_ entry: PasswdEntry) {
      self.init(name: entry.name, uid: entry.uid, gid: entry.gid, home: entry.home, shell: entry.shell)
    }

    /// A login account: root, or uid 1000 and up (and below `nobody`), with a shell that is not
    /// `nologin` or `false`.
    public var isLoginAccount: Bool {
      let shut = shell.hasSuffix("/nologin") || shell.hasSuffix("/false") || shell.isEmpty
      return !shut && (uid == 0 || (uid >= 1000 && uid < 65534))
    }
  }

  public var host: String
  public var source: Source
  /// Settings per user name (for the users asked about that exist).
  public var users: [String: SSHDSettings]
  /// Accounts by name: those asked about, or every account when all were asked for.
  public var accounts: [String: Account]
  /// Why the model is approximate, problems reading the config.
  public var notes: [String]
  /// Public-key logins found in sshd's log, when asked for (`report`).
  public var logins: Logins?

  /// Who logged in with which key, from sshd's "Accepted publickey for USER ... SHA256:..." lines.
  public struct Logins: Hashable, Sendable, Codable {
    /// Where they were read: `journal (N days)`, a file, or `unreadable ...` (nothing was read).
    public var source: String
    /// Fingerprints per user.
    public var seen: [String: [String]]

    public var isReadable: Bool { !source.hasPrefix("unreadable") }

    public init(source: String, seen: [String: [String]]) {
      self.source = source
      self.seen = seen
    }
  }

  public init(
    host: String, source: Source, users: [String: SSHDSettings], accounts: [String: Account],
    notes: [String] = []
  ) {
    self.host = host
    self.source = source
    self.users = users
    self.accounts = accounts
    self.notes = notes
  }

  /// True when the settings come from keyward's own reading of sshd_config.
  public var isApproximate: Bool { source == .config }

  /// The absolute paths of the files sshd reads for `user`, in sshd's order (empty when unknown).
  public func authorizedKeysPaths(for user: String) -> [String] {
    guard let settings = users[user], let account = accounts[user] else { return [] }
    return settings.authorizedKeysPaths(user: user, home: account.home, uid: account.uid)
  }

  /// sshd's entries for `user` as target paths: `%u`, `%U` and `%%` expanded, `%h` kept (the
  /// transport expands it), a leading `%h/` dropped so the default stays `.ssh/authorized_keys`.
  public func targetPaths(for user: String) -> [String] {
    guard let settings = users[user] else { return [] }
    return settings.authorizedKeysFiles.map { Self.targetPath($0, user: user, uid: accounts[user]?.uid) }
  }

  /// One sshd path pattern as a target path (see ``targetPaths(for:)``).
  public static func targetPath(_ pattern: String, user: String, uid: UInt32?) -> String {
    var out = PathTokens.substitute(pattern) { token in
      switch token {
      case "u": user
      case "U": uid.map(String.init)
      case "%": "%%"
      default: nil
      }
    }
    if out.hasPrefix("%h/") { out.removeFirst(3) }
    return out
  }
}

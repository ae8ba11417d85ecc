/// What sshd does for one user: the effective value of each setting that decides who can log
/// in and how, after `Match` blocks. Read from `sshd -T -C ...` (exact) or evaluated from
/// sshd_config (``SSHDConfigEvaluator``, approximate).
///
/// Paths are as sshd holds them: `AuthorizedKeysFile` entries keep their `%h %u %U %%` tokens
/// (expand them with ``authorizedKeysPaths(user:home:uid:)``); `nil` means `none`.
public struct SSHDSettings: Hashable, Sendable, Codable {
  /// `PermitRootLogin`.
  public enum RootLogin: String, Hashable, Sendable, Codable {
    case yes, no
    case prohibitPassword = "prohibit-password"
    case forcedCommandsOnly = "forced-commands-only"
  }

  public var authorizedKeysFiles: [String]
  public var authorizedKeysCommand: String?
  public var authorizedKeysCommandUser: String?
  public var trustedUserCAKeys: String?
  public var authorizedPrincipalsFile: String?
  public var authorizedPrincipalsCommand: String?
  public var authorizedPrincipalsCommandUser: String?
  public var revokedKeys: String?
  public var pubkeyAuthentication: Bool
  public var pubkeyAcceptedAlgorithms: [String]
  /// `["any"]` when unset.
  public var authenticationMethods: [String]
  public var passwordAuthentication: Bool
  public var kbdInteractiveAuthentication: Bool
  public var permitRootLogin: RootLogin
  public var allowUsers: [String]
  public var denyUsers: [String]
  public var allowGroups: [String]
  public var denyGroups: [String]
  public var strictModes: Bool
  public var forceCommand: String?
  public var usePAM: Bool

  /// OpenSSH's compiled-in defaults (9.2).
  public init() {
    authorizedKeysFiles = [".ssh/authorized_keys", ".ssh/authorized_keys2"]
    pubkeyAuthentication = true
    pubkeyAcceptedAlgorithms = Self.defaultPubkeyAlgorithms
    authenticationMethods = ["any"]
    passwordAuthentication = true
    kbdInteractiveAuthentication = true
    permitRootLogin = .prohibitPassword
    allowUsers = []
    denyUsers = []
    allowGroups = []
    denyGroups = []
    strictModes = true
    usePAM = false
  }

  enum CodingKeys: String, CodingKey {
    case authorizedKeysFiles = "authorized_keys_files"
    case authorizedKeysCommand = "authorized_keys_command"
    case authorizedKeysCommandUser = "authorized_keys_command_user"
    case trustedUserCAKeys = "trusted_user_ca_keys"
    case authorizedPrincipalsFile = "authorized_principals_file"
    case authorizedPrincipalsCommand = "authorized_principals_command"
    case authorizedPrincipalsCommandUser = "authorized_principals_command_user"
    case revokedKeys = "revoked_keys"
    case pubkeyAuthentication = "pubkey_authentication"
    case pubkeyAcceptedAlgorithms = "pubkey_accepted_algorithms"
    case authenticationMethods = "authentication_methods"
    case passwordAuthentication = "password_authentication"
    case kbdInteractiveAuthentication = "kbd_interactive_authentication"
    case permitRootLogin = "permit_root_login"
    case allowUsers = "allow_users"
    case denyUsers = "deny_users"
    case allowGroups = "allow_groups"
    case denyGroups = "deny_groups"
    case strictModes = "strict_modes"
    case forceCommand = "force_command"
    case usePAM = "use_pam"
  }

  /// `PubkeyAcceptedAlgorithms` of OpenSSH 9.2 when the config does not set it.
  public static let defaultPubkeyAlgorithms = [
    "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "ssh-ed25519",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com", "rsa-sha2-512", "rsa-sha2-256",
  ]

  /// The files sshd reads for `user`, as absolute paths: `%%`, `%h`, `%u` and `%U` expanded,
  /// relative entries taken from the home directory (as `expand_authorized_keys` does).
  public func authorizedKeysPaths(user: String, home: String, uid: UInt32) -> [String] {
    authorizedKeysFiles.map { Self.expand($0, user: user, home: home, uid: uid) }
  }

  /// Expands sshd's path tokens; a relative result is relative to `home`.
  public static func expand(_ pattern: String, user: String, home: String, uid: UInt32) -> String {
    PathTokens.expand(pattern, user: user, home: home, uid: uid)
  }

  /// Why sshd would refuse every public-key login of this user, or nil. `groups` are the
  /// user's group names; `address` the client address (`DenyUsers user@host` patterns).
  public func publicKeyRefusal(user: String, uid: UInt32, groups: [String], address: String? = nil) -> String?
  {
    if !pubkeyAuthentication { return "PubkeyAuthentication is 'no'" }
    if uid == 0 && permitRootLogin == .no { return "PermitRootLogin is 'no'" }
    if !authenticationMethods.contains("any"),
      !authenticationMethods.contains(where: {
        $0.split(separator: ",").contains { $0.hasPrefix("publickey") }
      })
    {
      return "AuthenticationMethods does not include publickey"
    }
    for pattern in denyUsers where SSHDPattern.userMatches(pattern, user: user, address: address) {
      return "DenyUsers '\(pattern)' names this user"
    }
    if !allowUsers.isEmpty
      && !allowUsers.contains(where: { SSHDPattern.userMatches($0, user: user, address: address) })
    {
      return "AllowUsers does not name this user"
    }
    for pattern in denyGroups where groups.contains(where: { SSHDPattern.matchList($0, pattern) == 1 }) {
      return "DenyGroups '\(pattern)' names a group of this user"
    }
    if !allowGroups.isEmpty
      && !allowGroups.contains(where: { p in groups.contains { SSHDPattern.matchList($0, p) == 1 } })
    {
      return "AllowGroups names no group of this user"
    }
    return nil
  }

  /// True when sshd accepts passwords or keyboard-interactive logins for this user.
  public func allowsPassword(uid: UInt32) -> Bool {
    guard passwordAuthentication || kbdInteractiveAuthentication else { return false }
    if uid == 0 && permitRootLogin != .yes { return false }
    if !authenticationMethods.contains("any") {
      return authenticationMethods.contains {
        $0.split(separator: ",").contains { $0.hasPrefix("password") || $0.hasPrefix("keyboard-interactive") }
      }
    }
    return true
  }
}

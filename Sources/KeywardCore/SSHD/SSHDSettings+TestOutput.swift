extension SSHDSettings {
  /// Reads the output of `sshd -T [-C ...]`: lower-case keywords, one setting per line
  /// (`allowusers` and friends once per value). Unknown keywords are ignored.
  ///
  /// `sshd -T` prints `AuthorizedKeysFile` entries joined by spaces without quotes, so an entry
  /// that contains a space cannot be told apart from two entries; it is read as two.
  public init(sshdTestOutput text: String) {
    self.init()
    var allow: [String] = []
    var deny: [String] = []
    var allowG: [String] = []
    var denyG: [String] = []
    for raw in SSHDConfig.lines(text) {
      let line = raw.drop { $0 == " " || $0 == "\t" }
      guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { continue }
      let key = line[..<space].lowercased()
      let value = String(line[line.index(after: space)...]).trimmingCharacters(in: .whitespacesAndNewlines)
      let none = value.lowercased() == "none" ? nil : value
      let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      switch key {
      case "authorizedkeysfile": authorizedKeysFiles = value.lowercased() == "none" ? [] : words
      case "authorizedkeyscommand": authorizedKeysCommand = none
      case "authorizedkeyscommanduser": authorizedKeysCommandUser = none
      case "trustedusercakeys": trustedUserCAKeys = none
      case "authorizedprincipalsfile": authorizedPrincipalsFile = none
      case "authorizedprincipalscommand": authorizedPrincipalsCommand = none
      case "authorizedprincipalscommanduser": authorizedPrincipalsCommandUser = none
      case "revokedkeys": revokedKeys = none
      case "pubkeyauthentication": pubkeyAuthentication = value == "yes"
      case "pubkeyacceptedalgorithms": pubkeyAcceptedAlgorithms = value.split(separator: ",").map(String.init)
      case "authenticationmethods": authenticationMethods = words.isEmpty ? ["any"] : words
      case "passwordauthentication": passwordAuthentication = value == "yes"
      case "kbdinteractiveauthentication": kbdInteractiveAuthentication = value == "yes"
      case "permitrootlogin": permitRootLogin = Self.rootLogin(value) ?? .prohibitPassword
      case "allowusers": allow += words
      case "denyusers": deny += words
      case "allowgroups": allowG += words
      case "denygroups": denyG += words
      case "strictmodes": strictModes = value == "yes"
      case "forcecommand": forceCommand = none
      case "usepam": usePAM = value == "yes"
      default: continue
      }
    }
    allowUsers = allow
    denyUsers = deny
    allowGroups = allowG
    denyGroups = denyG
  }

  /// `PermitRootLogin`'s words (`without-password` is the old name of `prohibit-password`).
  static func rootLogin(_ value: String) -> RootLogin? {
    switch value.lowercased() {
    case "yes": return .yes
    case "no": return .no
    case "prohibit-password", "without-password": return .prohibitPassword
    case "forced-commands-only": return .forcedCommandsOnly
    default: return nil
    }
  }
}

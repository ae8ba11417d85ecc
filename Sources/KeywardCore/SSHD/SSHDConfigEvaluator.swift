/// Evaluates sshd_config for one connection as sshd does: the global lines first (the first
/// value of a setting wins), then the `Match` blocks that match the connection (again the first
/// value wins), whose values replace the global ones. An `Include` continues the `Match` state
/// of its line, and that state is restored after the included file.
///
/// Only the settings of ``SSHDSettings`` are evaluated. The result is approximate where sshd
/// needs the system: host names are not resolved, and `Match Group` uses the groups given.
public enum SSHDConfigEvaluator {
  /// The effective settings for `connection`.
  public static func evaluate(_ config: SSHDConfig, connection: SSHDConnection) -> SSHDSettings {
    var global = Values()
    walk(config.root, active: true, inMatch: false, connection: nil, into: &global)
    var matched = Values()
    walk(config.root, active: false, inMatch: false, connection: connection, into: &matched)
    var settings = SSHDSettings()
    global.apply(to: &settings)
    matched.apply(to: &settings)
    return settings
  }

  /// Keywords sshd accepts inside a `Match` block (of those evaluated here).
  static let matchKeywords: Set<String> = [
    "authorizedkeysfile", "authorizedkeyscommand", "authorizedkeyscommanduser", "trustedusercakeys",
    "authorizedprincipalsfile", "authorizedprincipalscommand", "authorizedprincipalscommanduser",
    "revokedkeys",
    "pubkeyauthentication", "pubkeyacceptedalgorithms", "authenticationmethods", "passwordauthentication",
    "kbdinteractiveauthentication", "challengeresponseauthentication", "permitrootlogin", "allowusers",
    "denyusers", "allowgroups", "denygroups",
    "forcecommand",
  ]

  /// Walks one file. Without a connection (the global pass) only lines outside `Match` count;
  /// with one, only lines in matching `Match` blocks.
  private static func walk(
    _ file: SSHDConfig.File, active: Bool, inMatch: Bool, connection: SSHDConnection?,
    into values: inout Values
  ) {
    var active = active
    var inMatch = inMatch
    for entry in file.entries {
      switch entry {
      case .match(let line):
        inMatch = true
        active = connection.map { matches(line.arguments, $0) } ?? false
      case .include(_, let files):
        for included in files {
          walk(included, active: active, inMatch: inMatch, connection: connection, into: &values)
        }
      case .line(let line):
        guard active else { continue }
        if inMatch && !matchKeywords.contains(line.keyword) { continue }
        values.set(line)
      }
    }
  }

  /// `match_cfg_line`: every criterion must match (`all` alone matches everything).
  static func matches(_ arguments: [String], _ connection: SSHDConnection) -> Bool {
    var index = 0
    var result = true
    while index < arguments.count {
      let criterion = arguments[index].lowercased()
      index += 1
      if criterion == "all" { continue }
      guard index < arguments.count else { return false }
      let value = arguments[index]
      index += 1
      switch criterion {
      case "user":
        if SSHDPattern.matchList(connection.user, value) != 1 { result = false }
      case "group":
        var found = false
        for group in connection.groups {
          let got = SSHDPattern.matchList(group, value)
          if got == -1 {
            found = false
            break
          }
          if got == 1 { found = true }
        }
        if !found { result = false }
      case "host":
        if SSHDPattern.matchList(connection.host, value, caseInsensitive: true) != 1 { result = false }
      case "address":
        if SSHDPattern.addressList(connection.address, value) != 1 { result = false }
      case "localaddress":
        if SSHDPattern.addressList(connection.localAddress, value) != 1 { result = false }
      case "localport":
        if Int(value) != connection.localPort { result = false }
      default:
        result = false
      }
    }
    return result
  }

  /// The first value seen of each setting.
  struct Values {
    var authorizedKeysFiles: [String]?
    var authorizedKeysCommand: String?
    var authorizedKeysCommandUser: String?
    var trustedUserCAKeys: String?
    var authorizedPrincipalsFile: String?
    var authorizedPrincipalsCommand: String?
    var authorizedPrincipalsCommandUser: String?
    var revokedKeys: String?
    var pubkeyAuthentication: Bool?
    var pubkeyAcceptedAlgorithms: String?
    var authenticationMethods: [String]?
    var passwordAuthentication: Bool?
    var kbdInteractiveAuthentication: Bool?
    var permitRootLogin: SSHDSettings.RootLogin?
    var allowUsers: [String]?
    var denyUsers: [String]?
    var allowGroups: [String]?
    var denyGroups: [String]?
    var strictModes: Bool?
    var forceCommand: String?
    var usePAM: Bool?

    mutating func set(_ line: SSHDConfig.Line) {
      let first = line.arguments.first ?? ""
      let flag = first.lowercased() == "yes" ? true : (first.lowercased() == "no" ? false : nil)
      switch line.keyword {
      case "authorizedkeysfile":
        if authorizedKeysFiles == nil {
          authorizedKeysFiles =
            line.arguments.count == 1 && first.lowercased() == "none" ? [] : line.arguments
        }
      case "authorizedkeyscommand": once(&authorizedKeysCommand, line.rest)
      case "authorizedkeyscommanduser": once(&authorizedKeysCommandUser, first)
      case "trustedusercakeys": once(&trustedUserCAKeys, Self.derelativise(first))
      case "revokedkeys": once(&revokedKeys, Self.derelativise(first))
      case "authorizedprincipalsfile": once(&authorizedPrincipalsFile, first)
      case "authorizedprincipalscommand": once(&authorizedPrincipalsCommand, line.rest)
      case "authorizedprincipalscommanduser": once(&authorizedPrincipalsCommandUser, first)
      case "pubkeyauthentication": if pubkeyAuthentication == nil { pubkeyAuthentication = flag }
      case "pubkeyacceptedalgorithms": once(&pubkeyAcceptedAlgorithms, first)
      case "authenticationmethods": if authenticationMethods == nil { authenticationMethods = line.arguments }
      case "passwordauthentication": if passwordAuthentication == nil { passwordAuthentication = flag }
      case "kbdinteractiveauthentication", "challengeresponseauthentication":
        if kbdInteractiveAuthentication == nil { kbdInteractiveAuthentication = flag }
      case "permitrootlogin": if permitRootLogin == nil { permitRootLogin = SSHDSettings.rootLogin(first) }
      case "allowusers": allowUsers = (allowUsers ?? []) + line.arguments
      case "denyusers": denyUsers = (denyUsers ?? []) + line.arguments
      case "allowgroups": allowGroups = (allowGroups ?? []) + line.arguments
      case "denygroups": denyGroups = (denyGroups ?? []) + line.arguments
      case "strictmodes": if strictModes == nil { strictModes = flag }
      case "forcecommand": once(&forceCommand, line.rest)
      case "usepam": if usePAM == nil { usePAM = flag }
      default: break
      }
    }

    private func once(_ slot: inout String?, _ value: String) {
      if slot == nil { slot = value }
    }

    /// `derelativise_path`: `none` stays, a relative path is taken from sshd's working
    /// directory when it read the config: `/` for a daemon started by systemd or init.
    static func derelativise(_ path: String) -> String {
      if path.lowercased() == "none" || path.hasPrefix("/") { return path }
      return "//" + path  // getcwd() "/" + "/" + path, exactly as sshd holds it
    }

    func apply(to settings: inout SSHDSettings) {
      func text(_ value: String?) -> String?? {
        guard let value else { return .none }
        return .some(value.lowercased() == "none" ? nil : value)
      }
      if let authorizedKeysFiles { settings.authorizedKeysFiles = authorizedKeysFiles }
      if let v = text(authorizedKeysCommand) { settings.authorizedKeysCommand = v }
      if let v = text(authorizedKeysCommandUser) { settings.authorizedKeysCommandUser = v }
      if let v = text(trustedUserCAKeys) { settings.trustedUserCAKeys = v }
      if let v = text(authorizedPrincipalsFile) { settings.authorizedPrincipalsFile = v }
      if let v = text(authorizedPrincipalsCommand) { settings.authorizedPrincipalsCommand = v }
      if let v = text(authorizedPrincipalsCommandUser) { settings.authorizedPrincipalsCommandUser = v }
      if let v = text(revokedKeys) { settings.revokedKeys = v }
      if let pubkeyAuthentication { settings.pubkeyAuthentication = pubkeyAuthentication }
      if let pubkeyAcceptedAlgorithms {
        settings.pubkeyAcceptedAlgorithms = Self.assemble(pubkeyAcceptedAlgorithms)
      }
      if let authenticationMethods { settings.authenticationMethods = authenticationMethods }
      if let passwordAuthentication { settings.passwordAuthentication = passwordAuthentication }
      if let kbdInteractiveAuthentication {
        settings.kbdInteractiveAuthentication = kbdInteractiveAuthentication
      }
      if let permitRootLogin { settings.permitRootLogin = permitRootLogin }
      if let allowUsers { settings.allowUsers = allowUsers }
      if let denyUsers { settings.denyUsers = denyUsers }
      if let allowGroups { settings.allowGroups = allowGroups }
      if let denyGroups { settings.denyGroups = denyGroups }
      if let strictModes { settings.strictModes = strictModes }
      if let v = text(forceCommand) { settings.forceCommand = v }
      if let usePAM { settings.usePAM = usePAM }
    }

    /// `kex_assemble_names` against the default list: `+` appends, `-` removes (wildcards),
    /// `^` prepends; a plain list replaces.
    static func assemble(_ value: String) -> [String] {
      let defaults = SSHDSettings.defaultPubkeyAlgorithms
      guard let first = value.first, "+-^".contains(first) else {
        return value.split(separator: ",").map(String.init)
      }
      let names = value.dropFirst().split(separator: ",").map(String.init)
      switch first {
      case "+": return defaults + names.filter { !defaults.contains($0) }
      case "^": return names + defaults.filter { !names.contains($0) }
      default:
        return defaults.filter { name in
          !names.contains { SSHDPattern.matchList(name, $0) == 1 }
        }
      }
    }
  }
}

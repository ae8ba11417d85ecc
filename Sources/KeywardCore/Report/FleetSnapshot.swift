/// Everything sshd reads for a set of accounts: each host's sshd model and every
/// authorized_keys file (and principals file) it names for each account. Read once, used by
/// `report` and `import`; never writes.
public struct FleetSnapshot: Sendable {
  /// One account on one host, with the files sshd reads for it.
  public struct Account: Sendable {
    public var host: String
    public var user: String
    public var settings: SSHDSettings
    public var account: SSHDModel.Account
    /// The files in sshd's order: target path (as `TargetID.path`) and what was read.
    public var files: [(path: String, result: Result<ObservedTarget, TransportError>)]
    /// The `AuthorizedPrincipalsFile`, when set: its path and what was read.
    public var principals: (path: String, result: Result<ObservedTarget, TransportError>)?
  }

  public var models: [String: Result<SSHDModel, TransportError>]
  /// Accounts sorted by host, then user.
  public var accounts: [Account]
  /// `user@host` asked for that does not exist on its host.
  public var missingUsers: [String]
  /// `user@host` whose sshd settings could not be learned (sshd_config unreadable, not root).
  public var unknownSettings: [String] = []

  /// Reads the models of `targets` (users per host; `*` means every login account), then every
  /// file sshd reads for each account, through one transport.
  public static func read(
    _ targets: [String: [String]], loginUsers: [String: String] = [:], log: SSHDProbe.LogSpec? = nil,
    source: some SSHDModelSource, transport: some Transport
  ) async -> FleetSnapshot {
    let requests = targets.keys.sorted().map { host in
      let users = targets[host]!.filter { $0 != "*" }
      return SSHDModelRequest(
        host: host, users: users, allAccounts: targets[host]!.contains("*"), loginUser: loginUsers[host],
        log: log)
    }
    let models = await source.readSSHDModels(requests)
    var fetches: [FetchRequest] = []
    var pending:
      [(
        host: String, user: String, settings: SSHDSettings, account: SSHDModel.Account, paths: [String],
        principals: String?
      )] = []
    var missing: [String] = []
    var unknown: [String] = []
    for request in requests {
      guard case .success(let model) = models[request.host] else { continue }
      let users = request.allAccounts ? model.users.keys.sorted() : request.users
      for user in users {
        guard let account = model.accounts[user] else {
          missing.append("\(user)@\(request.host)")
          continue
        }
        guard let settings = model.users[user] else {
          unknown.append("\(user)@\(request.host)")
          continue
        }
        let paths = Array(uniqued(model.targetPaths(for: user)))
        var principals: String?
        if let file = settings.authorizedPrincipalsFile {
          principals = SSHDModel.targetPath(file, user: user, uid: account.uid)
        }
        for path in paths + (principals.map { [$0] } ?? []) {
          fetches.append(FetchRequest(id: TargetID(user: user, host: request.host, path: path)))
        }
        pending.append((request.host, user, settings, account, paths, principals))
      }
    }
    let observed = fetches.isEmpty ? [:] : await transport.fetch(Array(Set(fetches)))
    func result(_ id: TargetID) -> Result<ObservedTarget, TransportError> {
      observed[id]
        ?? .failure(TransportError(code: .notFetched, host: id.host, step: .read, message: "not fetched"))
    }
    let accounts = pending.map { item in
      Account(
        host: item.host, user: item.user, settings: item.settings, account: item.account,
        files: item.paths.map { ($0, result(TargetID(user: item.user, host: item.host, path: $0))) },
        principals: item.principals.map { ($0, result(TargetID(user: item.user, host: item.host, path: $0))) }
      )
    }.sorted { $0.host != $1.host ? NaturalOrder.less($0.host, $1.host) : $0.user < $1.user }
    return FleetSnapshot(
      models: models, accounts: accounts, missingUsers: missing.sorted(), unknownSettings: unknown.sorted())
  }

  private static func uniqued(_ paths: [String]) -> [String] {
    var seen = Set<String>()
    return paths.filter { seen.insert($0).inserted }
  }
}

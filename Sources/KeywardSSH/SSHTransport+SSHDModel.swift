import KeywardCore

/// The sshd model over the session keyward already has: one exec of ``SSHDProbe``'s script
/// (`sshd -T -C` per user when the login user is root); otherwise sshd_config and its includes
/// are read over SFTP and evaluated (approximate).
extension SSHTransport: SSHDModelSource {
  public func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<
    SSHDModel, TransportError
  >] {
    await eachHost(requests) { [self] request in await pool.run { [self] in readSSHDModel(request) } }
  }

  /// Runs on a pool thread: one session (cached, shared with fetch and write), one exec.
  private func readSSHDModel(_ request: SSHDModelRequest) -> Result<SSHDModel, TransportError> {
    let login =
      connector.hosts[request.host]?.connectAs ?? request.loginUser ?? request.users.first ?? "root"
    let key = GroupKey(host: request.host, loginUser: login)
    let host: HostSession
    if let cached = cache.checkOut(key), cached.isAlive() {
      host = cached
    } else {
      do {
        host = try connector.open(request.host, user: login)
      } catch {
        return .failure(error)
      }
    }
    let token = Watchdog.shared.arm(fd: host.session.fd, after: settings.targetDeadline)
    do {
      var script = SSHDProbe.script(users: request.users, allAccounts: request.allAccounts, log: request.log)
      // As root, the accounts (and the helpers) the reads will need come in the same round
      // trip: no second exec per host. If that part fails, the read asks again and says why.
      let accounts = login == "root" ? host.accountLookup(request.users) : nil
      if let accounts { script = SSHDProbe.foldingIn(accounts, after: script) }
      let result = try host.session.exec(script, step: .sshdModel)
      var text = String(decoding: result.stdout, as: UTF8.self)
      if let accounts, let (probe, rest) = SSHDProbe.split(text) {
        try? host.absorb(rest, stderr: "", accounts)
        text = probe
      }
      let output = SSHDProbe.parse(text)
      let reader = ProbedConfigReader(
        output, fallback: SFTPConfigReader(files: try? host.files(for: host.loginUser, account: nil)))
      let model = SSHDProbe.model(
        host: request.host, output: output, users: request.users, allAccounts: request.allAccounts
      ) {
        SSHDConfig.load(reader: reader)
      }
      if Watchdog.shared.disarm(token) {
        host.close()
        return .failure(connector.deadlineError(request.host, step: .sshdModel))
      }
      cache.checkIn(key, host)
      return .success(model)
    } catch {
      _ = Watchdog.shared.disarm(token)
      host.close()
      return .failure(error)
    }
  }
}

/// sshd_config files read over SFTP with the login user's rights.
struct SFTPConfigReader: SSHDConfigReader {
  /// The login user's own SFTP session; nil when it could not be opened (nothing is read).
  let files: RemoteFiles?

  func read(_ path: String) -> String? {
    guard let bytes = files?.readRegularFile(path) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  func list(_ directory: String) -> [String]? {
    guard let names = try? files?.client.listDirectory(directory) else { return nil }
    return names.map(\.filename).filter { $0 != "." && $0 != ".." }
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore

/// Opens authenticated sessions: ssh_config resolution, TCP (or a ProxyJump tunnel, or a
/// ProxyCommand), host key verification for every hop against known_hosts as OpenSSH reads it,
/// then agent and identity-file authentication.
struct HostConnector: Sendable {
  let settings: SSHSettings
  let hosts: [String: HostSpec]
  let resolver: SSHConfigResolver
  /// known_hosts, read once per run and shared by every worker.
  var knownHosts = KnownHostsStore()

  /// The settings for `alias`: `ssh -G`, then the manifest's host fields, then command-line flags.
  func resolve(_ alias: String, jumpOverride: String?? = nil, portOverride: Int? = nil) throws(TransportError)
    -> ResolvedHost
  {
    let spec = hosts[alias]
    var resolved = try resolver.resolve(alias)
    if let hostname = spec?.hostname { resolved.hostname = hostname }
    if let port = spec?.port { resolved.port = port }
    if let known = spec?.knownHosts {
      resolved.userKnownHostsFiles = [SSHConfigResolver.expand(known, host: resolved)]
    }
    if let known = settings.knownHostsFile { resolved.userKnownHostsFiles = [known] }
    if let jump = spec?.jump {
      resolved.proxyJump = jump
      resolved.proxyCommand = nil
    }
    if case .some(let jump) = jumpOverride {
      resolved.proxyJump = jump
      resolved.proxyCommand = nil
    }
    if let portOverride { resolved.port = portOverride }
    if !settings.identityFiles.isEmpty {
      resolved.identityFiles = settings.identityFiles
      resolved.identitiesOnly = true
    }
    return resolved
  }

  /// Connects to `alias` and logs in as `user`. `deadline` guards each socket while it is set up.
  func open(
    _ alias: String, user: String, jumpOverride: String?? = nil, portOverride: Int? = nil, depth: Int = 0
  ) throws(TransportError) -> HostSession {
    let resolved = try resolve(alias, jumpOverride: jumpOverride, portOverride: portOverride)
    guard resolved.unsupported.isEmpty else {
      throw TransportError(
        code: .sshConfigUnsupported, host: alias, step: .connect,
        message:
          "ssh_config sets \(resolved.unsupported.joined(separator: ", ")), which keyward cannot honour;"
          + " unset it for this host (see docs/ssh-config.md)")
    }
    var tunnel: (any SessionCarrier)?
    let fd: Int32
    let connectTimeout = resolved.connectTimeout ?? settings.connectTimeout
    if let jump = resolved.proxyJump, !jump.isEmpty {
      guard depth < 8 else {
        throw TransportError(
          code: .jumpFailed, host: alias, step: .connect,
          message: "ProxyJump chain longer than 8 hops (a loop?)")
      }
      var hops = jump.split(separator: ",").map(String.init)
      let last = hops.removeLast()
      let hop = Self.parseHop(last)
      var hopUser = hop.user ?? ""
      if hop.user == nil { hopUser = try resolve(hop.host).user }
      let rest: String?? = hops.isEmpty ? .none : .some(hops.joined(separator: ","))
      let jumpSession: HostSession
      do throws(TransportError) {
        jumpSession = try open(
          hop.host, user: hopUser, jumpOverride: rest, portOverride: hop.port, depth: depth + 1)
      } catch {
        throw TransportError(
          code: error.code, host: alias, step: error.step,
          message: "via jump host '\(last)': \(error.host): \(error.message)")
      }
      do throws(TransportError) {
        let opened = try jumpSession.session.openTunnel(to: resolved.hostname, port: resolved.port)
        tunnel = opened
        fd = opened.localFD
      } catch {
        jumpSession.close()
        throw TransportError(code: error.code, host: alias, step: error.step, message: error.message)
      }
    } else if let command = resolved.proxyCommand {
      let proxy = try ProxyCommand.start(
        ProxyCommand.expand(command, host: resolved, user: user), host: alias)
      tunnel = proxy
      fd = proxy.localFD
    } else {
      fd = try TCPConnector.connect(
        host: alias, hostname: resolved.hostname, port: resolved.port, timeout: connectTimeout,
        family: resolved.addressFamily, bindAddress: resolved.bindAddress,
        attempts: resolved.connectionAttempts)
    }
    // CheckHostIP applies to direct connections only (never proxied or jumped), as in OpenSSH.
    let address = tunnel == nil ? TCPConnector.peerAddress(fd) : nil
    let session: SSHSession
    do throws(TransportError) {
      session = try SSHSession(host: alias, fd: fd, operationTimeout: settings.operationTimeout)
    } catch {
      tunnel?.finish()
      throw error
    }
    session.tunnel = tunnel
    // The deadline covers the handshake and authentication; it is always disarmed before the
    // socket is closed, so a reused descriptor number is never shut down by mistake.
    let token = Watchdog.shared.arm(fd: fd, after: settings.targetDeadline)
    do throws(TransportError) {
      // The server's banner is bounded in total by the connect timeout (as ssh's ConnectTimeout
      // bounds it: a silent or trickling server fails then); the key exchange in total by the
      // operation timeout, and every later wait by it too.
      guard TCPConnector.awaitBanner(fd, timeout: connectTimeout) else {
        throw handshakeTimeout(alias, connectTimeout)
      }
      let handshakeToken = Watchdog.shared.arm(fd: fd, after: settings.operationTimeout)
      do throws(TransportError) {
        try verifyHostKey(session, resolved, address: address)
      } catch {
        throw Watchdog.shared.disarm(handshakeToken) ? kexTimeout(alias) : error
      }
      if Watchdog.shared.disarm(handshakeToken) { throw kexTimeout(alias) }
      let fingerprint = try authenticate(session, resolved, user: user)
      guard !Watchdog.shared.disarm(token) else {
        session.close()
        throw deadlineError(alias, step: .auth)
      }
      return HostSession(session: session, host: alias, loginUser: user, loginKeyFingerprint: fingerprint)
    } catch {
      let fired = Watchdog.shared.disarm(token)
      session.close()
      throw fired ? deadlineError(alias, step: error.step) : error
    }
  }

  func handshakeTimeout(_ host: String, _ timeout: Duration) -> TransportError {
    TransportError(
      code: .handshakeFailed, host: host, step: .handshake,
      message:
        "Timed out: no SSH banner within \(timeout) (the connect timeout); the server accepted the"
        + " connection but is stuck, overloaded or not an SSH server")
  }

  func kexTimeout(_ host: String) -> TransportError {
    TransportError(
      code: .handshakeFailed, host: host, step: .handshake,
      message:
        "Timed out: the key exchange did not finish within \(settings.operationTimeout) (the operation"
        + " timeout); the server is stuck or overloaded")
  }

  func deadlineError(_ host: String, step: TransportError.Step) -> TransportError {
    TransportError(
      code: .deadlineExceeded, host: host, step: step,
      message:
        "gave up after \(settings.targetDeadline) (the per-target deadline); the host is too slow or stuck")
  }

  /// One ProxyJump hop: `[user@]host[:port]`, `[user@][v6 or host]:port` (the bracketed form
  /// `ssh -G` prints), or `ssh://[user@]host[:port]`.
  static func parseHop(_ text: String) -> (user: String?, host: String, port: Int?) {
    var rest = Substring(text)
    if rest.hasPrefix("ssh://") { rest = rest.dropFirst(6) }
    var user: String?
    if let at = rest.lastIndex(of: "@") {
      user = String(rest[..<at])
      rest = rest[rest.index(after: at)...]
    }
    if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
      let host = String(rest[rest.index(after: rest.startIndex)..<close])
      let after = rest[rest.index(after: close)...]
      if after.hasPrefix(":"), let port = Int(after.dropFirst()) { return (user, host, port) }
      return (user, host, nil)
    }
    if rest.filter({ $0 == ":" }).count == 1, let colon = rest.lastIndex(of: ":"),
      let port = Int(rest[rest.index(after: colon)...])
    {
      return (user, String(rest[..<colon]), port)
    }
    return (user, String(rest), nil)
  }

  // MARK: host key

  /// Checks the server's host key exactly as OpenSSH's `check_host_key()` would with these
  /// settings, against known_hosts as read once for the run. `@revoked` keys are refused in
  /// every mode and never recorded; a changed key is always refused; an unknown key is recorded
  /// only with accept-new (or StrictHostKeyChecking no / accept-new).
  private func verifyHostKey(_ session: SSHSession, _ resolved: ResolvedHost, address: String?)
    throws(TransportError)
  {
    let name = resolved.knownHostsName
    let known = knownHosts.knownHosts(resolved.knownHostsFiles)
    let entries = known.entries(for: name)
    try session.handshake(hostKeyPreference: Self.hostKeyPreference(entries))
    let offered = try session.hostKey()
    let key: PublicKey
    do {
      key = try PublicKey(type: offered.type, base64: Data(offered.blob).base64EncodedString())
    } catch {
      throw TransportError(
        code: .handshakeFailed, host: resolved.alias, step: .hostkey,
        message: "the server's \(offered.type) host key could not be read: \(error)")
    }
    let files = resolved.knownHostsFiles.map { "'\($0)'" }.joined(separator: ", ")
    // CheckHostIP: the address is looked up too (never for loopback, as in OpenSSH).
    var ipName: String?
    var ipVerdict: KnownHostsVerdict?
    if resolved.checkHostIP, let address, !TCPConnector.isLoopback(address), address != resolved.hostname {
      let lookup = KnownHostsEntry.lookupName(host: address, port: resolved.port)
      ipName = lookup
      ipVerdict = known.verdict(for: key, host: lookup)
    }
    let verdict = known.verdict(for: key, entries: entries)
    switch Self.checkHostIP(host: verdict, ip: ipVerdict, strict: resolved.strictHostKeyChecking) {
    case .refuse:
      throw TransportError(
        code: .hostKeyChanged, host: resolved.alias, step: .hostkey,
        message:
          "the \(key.type) host key of '\(name)' differs from the key known_hosts lists for its address"
          + " '\(ipName ?? "")' (CheckHostIP); the address may have been taken over. Check the host, then"
          + " fix the entry ('ssh-keygen -R \(ipName ?? "")')")
    case .recordAddress:
      if let ipName, let file = resolved.userKnownHostsFiles.first {
        try knownHosts.append(
          path: file,
          hostField: resolved.hashKnownHosts
            ? KnownHostsEntry.hashedField(ipName, salt: Self.salt()) : ipName,
          type: key.algorithm.plainName, blob: key.blob, host: resolved.alias)
      }
    case .none:
      break
    }
    switch verdict {
    case .matched:
      return
    case .revoked(let entry):
      throw TransportError(
        code: .hostKeyRevoked, host: resolved.alias, step: .hostkey,
        message:
          "the server's \(key.type) host key \(key.fingerprint) is marked @revoked for '\(name)'"
          + " (\(entry.location)): refused, as ssh refuses it ('REVOKED HOST KEY DETECTED'), and not"
          + " recorded; the host needs a new host key")
    case .changed(let previous):
      let listed = previous.map { "\($0.key.algorithm.plainName) \($0.key.fingerprint) (\($0.location))" }
      var message =
        "host key changed: known_hosts has \(listed.joined(separator: ", ")) for '\(name)' but the server"
        + " offered \(key.type) \(key.fingerprint); this may be an impostor. If the host was really"
        + " rebuilt, remove the old entry ('ssh-keygen -R \(name)') and connect again"
      let usable = Set(LibSSH2.usableHostKeyTypes)
      if !previous.contains(where: { usable.contains($0.key.algorithm.plainName) }) {
        message +=
          "; note: known_hosts lists only key types libssh2 1.10 cannot negotiate for this host"
          + " (it verifies \(LibSSH2.usableHostKeyTypes.joined(separator: ", ")))"
      }
      throw TransportError(code: .hostKeyChanged, host: resolved.alias, step: .hostkey, message: message)
    case .unknown(let authorities) where !authorities.isEmpty:
      throw TransportError(
        code: .hostKeyUnknown, host: resolved.alias, step: .hostkey,
        message:
          "known_hosts trusts a host certificate authority for '\(name)' (@cert-authority at"
          + " \(authorities[0].location)), but libssh2 1.10 cannot negotiate certificate host keys"
          + " (no *-cert-v01@openssh.com host key algorithms), so the server's plain \(key.type) key"
          + " \(key.fingerprint) cannot be checked against it and is not listed itself; add the plain key"
          + " to known_hosts after verifying it, or reach this host with ssh")
    case .unknown:
      let acceptNew =
        settings.acceptNewHostKeys || resolved.strictHostKeyChecking == "accept-new"
        || resolved.strictHostKeyChecking == "false" || resolved.strictHostKeyChecking == "no"
      guard acceptNew, let file = resolved.userKnownHostsFiles.first else {
        throw TransportError(
          code: .hostKeyUnknown, host: resolved.alias, step: .hostkey,
          message:
            "host key unknown: \(key.type) \(key.fingerprint) for '\(name)' is not in \(files.isEmpty ? "any known_hosts file" : files);"
            + " verify it and add it (ssh-keyscan), or pass --accept-new-host-keys")
      }
      let newAddress = ipVerdict.map { if case .unknown = $0 { true } else { false } } ?? false
      var fields = [resolved.hashKnownHosts ? KnownHostsEntry.hashedField(name, salt: Self.salt()) : name]
      if newAddress, let ipName {
        // As ssh writes it: `name,address`, or one hashed line each.
        if resolved.hashKnownHosts {
          fields.append(KnownHostsEntry.hashedField(ipName, salt: Self.salt()))
        } else {
          fields[0] += ",\(ipName)"
        }
      }
      for field in fields {
        try knownHosts.append(
          path: file, hostField: field, type: key.algorithm.plainName, blob: key.blob, host: resolved.alias)
      }
    }
  }

  /// What CheckHostIP adds to the host's own verdict.
  enum AddressCheck: Equatable {
    case none
    /// The address lists another key and StrictHostKeyChecking is `yes` or `ask`.
    case refuse
    /// The host is known, its address not: ssh records the address.
    case recordAddress
  }

  /// OpenSSH's `check_host_key()` for the address: a changed key for the address refuses the
  /// host under `yes`/`ask` (ssh only warns under `accept-new`/`no`); a known host whose address
  /// is new gets the address recorded.
  static func checkHostIP(host: KnownHostsVerdict, ip: KnownHostsVerdict?, strict: String) -> AddressCheck {
    guard let ip else { return .none }
    switch (host, ip) {
    case (.changed, _), (.revoked, _): return .none
    case (_, .changed): return strict == "true" || strict == "ask" || strict == "yes" ? .refuse : .none
    case (.matched, .unknown): return .recordAddress
    default: return .none
    }
  }

  /// The host key algorithms to offer, best first: the types known_hosts lists for the host
  /// (so the server presents a key that can match, as OpenSSH's `order_hostkeyalgs()` does),
  /// then the other types libssh2 1.10 can verify.
  static func hostKeyPreference(_ entries: [KnownHostsEntry]) -> [String] {
    let known = Set(entries.filter { $0.marker == .none }.map { $0.key.algorithm.plainName })
    let usable = LibSSH2.usableHostKeyTypes
    return usable.filter { known.contains($0) } + usable.filter { !known.contains($0) }
  }

  /// 20 random bytes for a hashed known_hosts name.
  static func salt() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
  }

  // MARK: authentication

  /// IdentityAgent: `none` means no agent, `SSH_AUTH_SOCK` (or unset) the environment's agent,
  /// anything else a socket path.
  private func agentSocket(_ resolved: ResolvedHost) -> String? {
    guard let agent = resolved.identityAgent, agent != "SSH_AUTH_SOCK" else { return settings.agentSocket }
    if agent == "none" { return nil }
    if agent.hasPrefix("$") { return ProcessInfo.processInfo.environment[String(agent.dropFirst())] }
    return SSHConfigResolver.expand(agent, host: resolved)
  }

  private func authenticate(_ session: SSHSession, _ resolved: ResolvedHost, user: String)
    throws(TransportError)
    -> String?
  {
    guard let methods = session.authMethods(user: user) else {
      if session.isAuthenticated { return nil }
      throw session.error(.authFailed, .auth, "could not ask the server for authentication methods")
    }
    let identities = IdentityLoader.load(resolved.identityFiles)
    guard methods.split(separator: ",").contains("publickey") else {
      throw TransportError(
        code: .authFailed, host: resolved.alias, step: .auth,
        message: "the server does not accept public keys for '\(user)' (it offers: \(methods))")
    }
    var tried: [String] = []
    var notes: [String] = []
    if settings.useAgent, let socket = agentSocket(resolved), !socket.isEmpty {
      let blobs = identities.compactMap(\.publicBlob)
      if !(resolved.identitiesOnly && blobs.isEmpty) {
        if let blob = session.authenticateWithAgent(
          user: user, socket: socket, preferred: blobs, onlyPreferred: resolved.identitiesOnly, limit: 4)
        {
          return IdentityLoader.fingerprint(of: blob)
        }
        tried.append("ssh-agent")
      }
    }
    var sawRSA = false
    for identity in identities where identity.hasPrivateKey {
      if let problem = IdentityLoader.unprotected(identity.path) {
        notes.append(problem)
        continue
      }
      if identity.keyType == "ssh-rsa" { sawRSA = true }
      var result = session.authenticateWithFile(user: user, path: identity.path, passphrase: nil)
      if case .unreadable = result, let passphrase = settings.passphrase.passphrase(for: identity.path) {
        result = session.authenticateWithFile(user: user, path: identity.path, passphrase: passphrase)
      }
      switch result {
      case .accepted:
        return identity.publicBlob.flatMap(IdentityLoader.fingerprint(of:))
      case .unreadable(let text):
        notes.append(
          "'\(identity.path)' could not be loaded (\(text)); set KEYWARD_SSH_PASSPHRASE if it is encrypted")
      case .rejected:
        tried.append("'\(identity.path)'")
      case .failed(let text):
        throw TransportError(
          code: .authFailed, host: resolved.alias, step: .auth,
          message: "authentication as '\(user)' broke off: \(text)")
      }
    }
    var message =
      tried.isEmpty && notes.isEmpty
      ? "no identity to offer for '\(user)': none of \(resolved.identityFiles.map { "'\($0)'" }.joined(separator: ", ")) exists; pass --identity FILE"
      : "the server refused every key for '\(user)' (tried \(tried.joined(separator: ", ")))"
    if !notes.isEmpty { message += "; " + notes.joined(separator: "; ") }
    if sawRSA {
      message +=
        "; note: libssh2 1.10 signs RSA keys only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later refuse:"
        + " log in with an ed25519 or ecdsa key instead"
    }
    throw TransportError(code: .authFailed, host: resolved.alias, step: .auth, message: message)
  }
}

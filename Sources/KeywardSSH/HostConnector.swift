import Foundation
import KeywardCore

/// Opens authenticated sessions: ssh_config resolution, TCP (or a ProxyJump tunnel), host key
/// verification for every hop, then agent and identity-file authentication.
struct HostConnector: Sendable {
  let settings: SSHSettings
  let hosts: [String: HostSpec]
  let resolver: SSHConfigResolver

  /// The settings for `alias`: `ssh -G`, then the manifest's host fields, then command-line flags.
  func resolve(_ alias: String, jumpOverride: String?? = nil, portOverride: Int? = nil) throws(TransportError)
    -> ResolvedHost
  {
    let spec = hosts[alias]
    var resolved = try resolver.resolve(alias)
    if let hostname = spec?.hostname { resolved.hostname = hostname }
    if let port = spec?.port { resolved.port = port }
    if let known = spec?.knownHosts {
      resolved.knownHostsFiles = [SSHConfigResolver.expand(known, host: resolved)]
    }
    if let known = settings.knownHostsFile { resolved.knownHostsFiles = [known] }
    if let jump = spec?.jump { resolved.proxyJump = jump }
    if case .some(let jump) = jumpOverride { resolved.proxyJump = jump }
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
    var tunnel: JumpTunnel?
    let fd: Int32
    if let jump = resolved.proxyJump, !jump.isEmpty {
      guard depth < 8 else {
        throw TransportError(
          code: "jump-failed", host: alias, step: "connect",
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
    } else {
      fd = try TCPConnector.connect(
        host: alias, hostname: resolved.hostname, port: resolved.port,
        timeout: resolved.connectTimeout ?? settings.connectTimeout)
    }
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
      try verifyHostKey(session, resolved)
      let fingerprint = try authenticate(session, resolved, user: user)
      guard !Watchdog.shared.disarm(token) else {
        session.close()
        throw deadlineError(alias, step: "auth")
      }
      return HostSession(session: session, host: alias, loginUser: user, loginKeyFingerprint: fingerprint)
    } catch {
      let fired = Watchdog.shared.disarm(token)
      session.close()
      throw fired ? deadlineError(alias, step: error.step) : error
    }
  }

  func deadlineError(_ host: String, step: String) -> TransportError {
    TransportError(
      code: "deadline-exceeded", host: host, step: step,
      message:
        "gave up after \(settings.targetDeadline) (the per-target deadline); the host is too slow or stuck")
  }

  static func parseHop(_ text: String) -> (user: String?, host: String, port: Int?) {
    var rest = Substring(text)
    var user: String?
    if let at = rest.lastIndex(of: "@") {
      user = String(rest[..<at])
      rest = rest[rest.index(after: at)...]
    }
    if let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) {
      return (user, String(rest[..<colon]), port)
    }
    return (user, String(rest), nil)
  }

  // MARK: host key

  private func verifyHostKey(_ session: SSHSession, _ resolved: ResolvedHost) throws(TransportError) {
    let files = resolved.knownHostsFiles
    let names = resolved.knownHostNames
    let known = session.knownHostKeyTypes(files: files, names: names, port: resolved.port)
    let preference = known.isEmpty ? LibSSH2.usableHostKeyTypes : known
    try session.handshake(hostKeyPreference: preference)
    let key = try session.hostKey()
    let offered = IdentityLoader.fingerprint(of: key.blob) ?? "unknown"
    switch session.checkHostKey(files: files, names: names, port: resolved.port, blob: key.blob) {
    case .match:
      return
    case .mismatch(let knownBase64):
      let knownFingerprint =
        knownBase64.flatMap { Data(base64Encoded: $0) }.flatMap { IdentityLoader.fingerprint(of: Array($0)) }
        ?? "unknown"
      throw TransportError(
        code: "host-key-changed", host: resolved.alias, step: "hostkey",
        message:
          "host key changed: known_hosts has \(knownFingerprint) but the server offered \(key.type) \(offered);"
          + " this may be an impostor. If the host was really rebuilt, remove the old entry"
          + " ('ssh-keygen -R \(resolved.hostname)') and connect again")
    case .notFound:
      let acceptNew =
        settings.acceptNewHostKeys || resolved.strictHostKeyChecking == "accept-new"
        || resolved.strictHostKeyChecking == "false"
      guard acceptNew else {
        throw TransportError(
          code: "host-key-unknown", host: resolved.alias, step: "hostkey",
          message:
            "host key unknown: \(key.type) \(offered) is not in \(files.map { "'\($0)'" }.joined(separator: ", "));"
            + " verify it and add it (ssh-keyscan), or pass --accept-new-host-keys")
      }
      let file = files.first ?? "\(SSHConfigResolver.home)/.ssh/known_hosts"
      try KnownHostsAppender.append(
        file: file, names: names, port: resolved.port, type: key.type, blob: key.blob, host: resolved.alias)
    }
  }

  // MARK: authentication

  private func authenticate(_ session: SSHSession, _ resolved: ResolvedHost, user: String)
    throws(TransportError)
    -> String?
  {
    guard let methods = session.authMethods(user: user) else {
      if session.isAuthenticated { return nil }
      throw session.error("auth-failed", "auth", "could not ask the server for authentication methods")
    }
    let identities = IdentityLoader.load(resolved.identityFiles)
    guard methods.split(separator: ",").contains("publickey") else {
      throw TransportError(
        code: "auth-failed", host: resolved.alias, step: "auth",
        message: "the server does not accept public keys for '\(user)' (it offers: \(methods))")
    }
    var tried: [String] = []
    var notes: [String] = []
    if settings.useAgent, let socket = settings.agentSocket, !socket.isEmpty {
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
          code: "auth-failed", host: resolved.alias, step: "auth",
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
    throw TransportError(code: "auth-failed", host: resolved.alias, step: "auth", message: message)
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore

/// Opens authenticated sessions: ssh_config resolution, TCP (or a ProxyJump tunnel, or a
/// ProxyCommand), host key verification for every hop against known_hosts as OpenSSH reads it,
/// then agent and identity-file authentication (`HostConnector+HostKey.swift`,
/// `HostConnector+Authentication.swift`).
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

  /// Connects to `alias` and logs in as `user`: through its ProxyJump hops (each opened the same
  /// way, `depth` deep), its ProxyCommand, or TCP. The per-target deadline guards the socket from
  /// the handshake to the end of authentication.
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
      let hop = JumpHop(last)
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
}

internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Process-wide libssh2 initialisation. `libssh2_init` is not thread-safe: it runs once,
/// before any session, through a `static let` (swift_once).
enum LibSSH2 {
  static let initialized: Bool = libssh2_init(0) == 0

  /// The libssh2 version this binary runs with.
  static var version: String {
    guard let text = libssh2_version(0) else { return "unknown" }
    return String(cString: text)
  }

  /// Host key algorithms libssh2 1.10 can verify, best first (RSA host keys need rsa-sha2).
  static let usableHostKeyTypes = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  ]
}

/// What `lstat`/`stat` says about a remote path.
struct RemoteAttributes {
  var permissions: UInt32
  var uid: UInt32
  var gid: UInt32
  var size: UInt64
  /// Modification time (seconds since the epoch, the server's clock).
  var modified: UInt64 = 0

  var pathStatus: PathStatus {
    let type = permissions & 0o170000
    return PathStatus(
      isSymlink: type == 0o120000, isDirectory: type == 0o040000, isRegularFile: type == 0o100000,
      mode: permissions & 0o7777, uid: uid, gid: gid)
  }
}

/// The result of a command run over an exec channel.
struct ExecResult {
  var status: Int32
  var signal: String?
  var stdout: [UInt8]
  var stderr: [UInt8]
}

/// How one identity file's authentication attempt came out.
enum FileAuthResult {
  case accepted
  /// The key could not be loaded (wrong or missing passphrase, unknown format).
  case unreadable(String)
  /// The server refused the key.
  case rejected(String)
  /// The connection failed meanwhile.
  case failed(String)
}

/// One libssh2 session and its channels (exec commands, and SFTP byte streams for `SFTPClient`).
///
/// Owns every libssh2 pointer of one connection. Used by one thread at a time: the worker that
/// created it, or (for a jump host) the tunnel pump that took it over. `@unchecked Sendable`
/// only so it can be handed from one thread to the next; never shared concurrently.
final class SSHSession: @unchecked Sendable {
  /// The host as the manifest names it, for messages.
  let host: String
  /// The socket under the session (a TCP socket or one end of a tunnel's socketpair).
  let fd: Int32
  private var raw: OpaquePointer?
  /// The tunnel or ProxyCommand this session runs through, kept alive until the session closes.
  var tunnel: (any SessionCarrier)?
  /// The longest one libssh2 wait may take.
  let operationTimeout: Duration
  /// Channel streams still open, closed with the session (weak: their owners close them).
  private var streams: [ObjectIdentifier: WeakStream] = [:]

  private struct WeakStream {
    weak var stream: SSHChannelStream?
  }

  init(host: String, fd: Int32, operationTimeout: Duration) throws(TransportError) {
    precondition(LibSSH2.initialized, "libssh2_init failed")
    self.host = host
    self.fd = fd
    self.operationTimeout = operationTimeout
    guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
      Glibc.close(fd)
      throw TransportError(
        code: .handshakeFailed, host: host, step: .handshake,
        message: "libssh2 could not allocate a session")
    }
    raw = session
    libssh2_session_set_blocking(session, 1)
    libssh2_session_set_timeout(session, Int(operationTimeout.milliseconds))
  }

  deinit { close() }

  /// Disconnects and frees everything; closes the socket. Safe to call twice.
  func close() {
    for entry in streams.values { entry.stream?.invalidate() }
    streams.removeAll()
    if let session = raw {
      libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "bye", "")
      libssh2_session_free(session)
      raw = nil
      Glibc.close(fd)
    }
    if let tunnel {
      tunnel.finish()
      self.tunnel = nil
    }
  }

  /// Shuts the socket down from another thread (the watchdog): every blocked call returns.
  static func abort(fd: Int32) {
    Glibc.shutdown(fd, Int32(SHUT_RDWR))
  }

  private var session: OpaquePointer {
    guard let raw else { preconditionFailure("session used after close") }
    return raw
  }

  /// `libssh2_session_last_error` as `code: text`.
  func lastError() -> (code: Int32, text: String) {
    guard let raw else { return (0, "session closed") }
    var message: UnsafeMutablePointer<CChar>?
    var length: Int32 = 0
    let code = libssh2_session_last_error(raw, &message, &length, 0)
    let text = message.map { String(cString: $0) } ?? "unknown error"
    return (code, text)
  }

  func error(_ code: TransportError.Code, _ step: TransportError.Step, _ what: String) -> TransportError {
    let last = lastError()
    return TransportError(
      code: code, host: host, step: step, message: "\(what): \(last.text) (libssh2 \(last.code))")
  }

  // MARK: handshake and host key

  /// Sets the host key preference and runs the SSH handshake on the socket.
  func handshake(hostKeyPreference: [String]) throws(TransportError) {
    let preference = (hostKeyPreference.isEmpty ? LibSSH2.usableHostKeyTypes : hostKeyPreference)
      .joined(separator: ",")
    if libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preference) != 0 {
      throw error(.handshakeFailed, .handshake, "host key preference '\(preference)' was refused")
    }
    if libssh2_session_handshake(session, fd) != 0 {
      let last = lastError()
      var message = "ssh handshake failed: \(last.text) (libssh2 \(last.code))"
      if last.code == LIBSSH2_ERROR_KEX_FAILURE || last.code == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED {
        message +=
          "; the server may offer only RSA host keys, which libssh2 1.10 cannot verify (needs rsa-sha2):"
          + " give the host an ed25519 or ecdsa host key"
      }
      throw TransportError(code: .handshakeFailed, host: host, step: .handshake, message: message)
    }
  }

  /// The negotiated host key: its OpenSSH type name, wire blob and SHA256 fingerprint.
  func hostKey() throws(TransportError) -> (type: String, blob: [UInt8]) {
    var length = 0
    var type: Int32 = 0
    guard let pointer = libssh2_session_hostkey(session, &length, &type) else {
      throw error(.handshakeFailed, .hostkey, "the server sent no host key")
    }
    let blob = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
      Array(UnsafeBufferPointer(start: $0, count: length))
    }
    let names: [Int32: String] = [
      LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa", LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521", LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519",
    ]
    return (names[type] ?? "unknown", blob)
  }

  // MARK: authentication

  /// The authentication methods the server offers for `user`; `nil` when "none" auth succeeded.
  func authMethods(user: String) -> String? {
    guard let list = libssh2_userauth_list(session, user, UInt32(user.utf8.count)) else { return nil }
    return String(cString: list)
  }

  var isAuthenticated: Bool { libssh2_userauth_authenticated(session) == 1 }

  /// Tries the agent's identities: those whose blob is in `preferred` first, then (unless
  /// `onlyPreferred`) the others, at most `limit` in all (sshd's MaxAuthTries cuts the session
  /// after 6 failures). Returns the blob that authenticated, or nil.
  func authenticateWithAgent(
    user: String, socket: String, preferred: [[UInt8]], onlyPreferred: Bool, limit: Int
  ) -> [UInt8]? {
    guard let agent = libssh2_agent_init(session) else { return nil }
    defer { libssh2_agent_free(agent) }
    libssh2_agent_set_identity_path(agent, socket)
    guard libssh2_agent_connect(agent) == 0 else { return nil }
    defer { libssh2_agent_disconnect(agent) }
    guard libssh2_agent_list_identities(agent) == 0 else { return nil }
    var identities: [(UnsafeMutablePointer<libssh2_agent_publickey>, [UInt8])] = []
    var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
    while true {
      var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
      guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { break }
      previous = identity
      identities.append(
        (identity, Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len)))
      )
    }
    let first = identities.filter { preferred.contains($0.1) }
    let rest = onlyPreferred ? [] : identities.filter { !preferred.contains($0.1) }
    for (identity, blob) in (first + rest).prefix(limit)
    where libssh2_agent_userauth(agent, user, identity) == 0 {
      return blob
    }
    return nil
  }

  /// Tries one private key file.
  func authenticateWithFile(user: String, path: String, passphrase: String?) -> FileAuthResult {
    let rc = libssh2_userauth_publickey_fromfile_ex(
      session, user, UInt32(user.utf8.count), nil, path, passphrase)
    if rc == 0 { return .accepted }
    let text = lastError().text
    if rc == LIBSSH2_ERROR_FILE { return .unreadable(text) }
    if rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED {
      return .rejected(text)
    }
    return .failed("\(text) (libssh2 \(rc))")
  }

  // MARK: exec

  /// Runs `command` over an exec channel, stdout and stderr read without deadlock.
  func exec(_ command: String, step: TransportError.Step) throws(TransportError) -> ExecResult {
    guard let channel = libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0) else {
      throw error(.execFailed, step, "could not open an exec channel")
    }
    defer { libssh2_channel_free(channel) }
    if libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count)) != 0 {
      throw error(.execFailed, step, "could not run '\(command)'")
    }
    var out: [UInt8] = []
    var err: [UInt8] = []
    var buffer = [CChar](repeating: 0, count: 32768)
    // Small outputs only (getent): read stdout fully, then stderr. Output beyond the window
    // would need interleaving; getent prints a few lines.
    for (stream, sink) in [(Int32(0), 0), (SSH_EXTENDED_DATA_STDERR, 1)] {
      while true {
        let n = buffer.withUnsafeMutableBufferPointer {
          libssh2_channel_read_ex(channel, stream, $0.baseAddress, $0.count)
        }
        if n == 0 { break }
        if n < 0 { throw error(.execFailed, step, "reading the output of '\(command)' failed") }
        let bytes = buffer[0..<n].map { UInt8(bitPattern: $0) }
        if sink == 0 { out += bytes } else { err += bytes }
      }
    }
    libssh2_channel_close(channel)
    libssh2_channel_wait_closed(channel)
    let status = libssh2_channel_get_exit_status(channel)
    var signalName: UnsafeMutablePointer<CChar>?
    var signalLength = 0
    libssh2_channel_get_exit_signal(channel, &signalName, &signalLength, nil, nil, nil, nil)
    var signal: String?
    if let signalName {
      signal = String(cString: signalName)
      free(signalName)
    }
    return ExecResult(status: status, signal: signal, stdout: out, stderr: err)
  }

  // MARK: channel streams

  /// True until `close()`.
  var isOpen: Bool { raw != nil }

  /// Opens a channel running `command` (exec) or the `subsystem`, as a byte stream.
  func openStream(exec command: String? = nil, subsystem: String? = nil, step: TransportError.Step)
    throws(TransportError)
    -> SSHChannelStream
  {
    guard let channel = libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0) else {
      throw error(.channelFailed, step, "could not open an ssh channel")
    }
    let (kind, argument) = command.map { ("exec", $0) } ?? ("subsystem", subsystem ?? "sftp")
    let started = libssh2_channel_process_startup(
      channel, kind, UInt32(kind.utf8.count), argument, UInt32(argument.utf8.count))
    guard started == 0 else {
      let failure = error(
        .channelFailed, step,
        kind == "subsystem"
          ? "could not start the '\(argument)' subsystem (is 'Subsystem sftp' enabled in sshd_config?)"
          : "could not run a command")
      libssh2_channel_free(channel)
      throw failure
    }
    let stream = SSHChannelStream(
      session: self, channel: channel, label: kind == "exec" ? "the helper" : argument)
    streams[ObjectIdentifier(stream)] = WeakStream(stream: stream)
    return stream
  }

  /// Called by a stream that closed itself.
  func forget(_ stream: SSHChannelStream) {
    streams[ObjectIdentifier(stream)] = nil
  }

  /// Waits (up to the operation timeout) until the socket is ready in the directions libssh2
  /// is blocked on; false when the timeout passed.
  func waitForSocket() -> Bool {
    guard let raw else { return false }
    let directions = libssh2_session_block_directions(raw)
    var events: Int16 = 0
    if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
    if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
    if events == 0 { events = Int16(POLLIN) }
    var fds = [pollfd(fd: fd, events: events, revents: 0)]
    let milliseconds = Int32(clamping: max(1, operationTimeout.milliseconds))
    return poll(&fds, 1, milliseconds) > 0
  }

  // MARK: tunnels

  /// Opens a direct-tcpip channel to `target:port` and hands this session to a pump thread that
  /// relays it to a socketpair. Returns the tunnel; its `localFD` carries the inner session.
  /// From this call on, only the pump thread uses this session.
  func openTunnel(to target: String, port: Int) throws(TransportError) -> JumpTunnel {
    guard let channel = libssh2_channel_direct_tcpip_ex(session, target, Int32(port), "127.0.0.1", 22) else {
      throw error(
        .jumpFailed, .connect,
        "jump host refused to forward to '\(target):\(port)' (AllowTcpForwarding on the jump host?)")
    }
    var pair: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
      libssh2_channel_free(channel)
      throw TransportError(
        code: .jumpFailed, host: host, step: .connect, message: "socketpair failed: errno \(errno)")
    }
    let tunnel = JumpTunnel(outer: self, channel: ChannelBox(channel), localFD: pair[0], pumpFD: pair[1])
    tunnel.start()
    return tunnel
  }

  /// The pump loop: relays bytes between the channel and `pumpFD` until either side ends or
  /// `stop` is set. Runs on the tunnel's own thread, which owns this session meanwhile.
  func pump(channel box: ChannelBox, pumpFD: Int32, isStopped: () -> Bool) {
    let channel = box.pointer
    libssh2_session_set_blocking(session, 0)
    var toChannel: [UInt8] = []
    var toSocket: [UInt8] = []
    var localEOF = false
    var buffer = [UInt8](repeating: 0, count: 32768)
    loop: while !isStopped() {
      var progress = false
      if !localEOF && toChannel.count < 65536 {
        let n = buffer.withUnsafeMutableBytes { recv(pumpFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 {
          toChannel += buffer[0..<n]
          progress = true
        } else if n == 0 {
          localEOF = true
        } else if errno != EAGAIN && errno != EWOULDBLOCK {
          break loop
        }
      }
      if !toChannel.isEmpty {
        let n = toChannel.withUnsafeBufferPointer { bytes in
          bytes.withMemoryRebound(to: CChar.self) {
            libssh2_channel_write_ex(channel, 0, $0.baseAddress, $0.count)
          }
        }
        if n > 0 {
          toChannel.removeFirst(n)
          progress = true
        } else if n != LIBSSH2_ERROR_EAGAIN {
          break loop
        }
      } else if localEOF {
        _ = libssh2_channel_send_eof(channel)
        break loop
      }
      if toSocket.count < 65536 {
        let n = buffer.withUnsafeMutableBytes { raw in
          raw.withMemoryRebound(to: CChar.self) {
            libssh2_channel_read_ex(channel, 0, $0.baseAddress, $0.count)
          }
        }
        if n > 0 {
          toSocket += buffer[0..<n]
          progress = true
        } else if n != LIBSSH2_ERROR_EAGAIN && n != 0 {
          break loop
        }
      }
      if !toSocket.isEmpty {
        let n = toSocket.withUnsafeBytes {
          send(pumpFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
        if n > 0 {
          toSocket.removeFirst(n)
          progress = true
        } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
          break loop
        }
      } else if libssh2_channel_eof(channel) == 1 {
        Glibc.shutdown(pumpFD, Int32(SHUT_WR))
        // Keep relaying the other direction until the inner session closes its end.
        if localEOF { break loop }
      }
      if !progress {
        var fds = [
          pollfd(fd: pumpFD, events: Int16(POLLIN), revents: 0),
          pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        ]
        if !toSocket.isEmpty { fds[0].events |= Int16(POLLOUT) }
        let directions = libssh2_session_block_directions(session)
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { fds[1].events |= Int16(POLLOUT) }
        _ = poll(&fds, 2, 50)
      }
    }
    libssh2_session_set_blocking(session, 1)
    libssh2_session_set_timeout(session, 2000)
    libssh2_channel_close(channel)
    libssh2_channel_free(channel)
    Glibc.close(pumpFD)
  }
}

/// A libssh2 channel pointer moved to the pump thread with its session.
final class ChannelBox: @unchecked Sendable {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

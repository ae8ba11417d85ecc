internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

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

  /// The live session pointer (for this type's extensions in this folder).
  var session: OpaquePointer {
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
}

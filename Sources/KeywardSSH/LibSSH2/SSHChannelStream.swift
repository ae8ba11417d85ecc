internal import CLibSSH2
import KeywardCore
import SFTP

#if canImport(Glibc)
  import Glibc
#endif

/// One libssh2 channel of an `SSHSession` (an exec channel or the `sftp` subsystem) as a
/// `ByteStream`, so `SFTPClient` can speak over it.
///
/// Owns its channel pointer; the session owns the stream's lifetime: `SSHSession.close()` closes
/// every stream first, so no channel outlives its session. The session runs in blocking mode with
/// its operation timeout, so every read and write is bounded by that timeout (and by the
/// watchdog, which shuts the socket down); EAGAIN is still handled, by polling the socket in the
/// directions libssh2 asks for. Used by the session's thread only, like the session.
final class SSHChannelStream: ByteStream {
  /// What the channel runs, for messages (`subsystem sftp`, the exec command).
  let label: String
  private weak var session: SSHSession?
  private var channel: OpaquePointer?
  private var stderrBytes: [UInt8] = []

  init(session: SSHSession, channel: OpaquePointer, label: String) {
    self.session = session
    self.channel = channel
    self.label = label
  }

  deinit { close() }

  func write(_ bytes: [UInt8]) throws(StreamError) {
    var offset = 0
    while offset < bytes.count {
      let channel = try open()
      let count = bytes.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) {
          libssh2_channel_write_ex(channel, 0, $0.baseAddress! + offset, $0.count - offset)
        }
      }
      if count > 0 {
        offset += count
      } else if count == LIBSSH2_ERROR_EAGAIN || count == 0 {
        try waitForSocket()
      } else {
        throw failure("writing to", code: Int32(count))
      }
    }
  }

  func read(maximum: Int) throws(StreamError) -> [UInt8] {
    var buffer = [CChar](repeating: 0, count: max(1, min(maximum, 256 * 1024)))
    while true {
      let channel = try open()
      let count = buffer.withUnsafeMutableBufferPointer {
        libssh2_channel_read_ex(channel, 0, $0.baseAddress, $0.count)
      }
      if count > 0 { return buffer[0..<count].map { UInt8(bitPattern: $0) } }
      if count == 0 {
        if libssh2_channel_eof(channel) == 1 {
          collectStderr()
          return []
        }
        try waitForSocket()
      } else if count == LIBSSH2_ERROR_EAGAIN {
        try waitForSocket()
      } else {
        throw failure("reading from", code: Int32(count))
      }
    }
  }

  /// What the remote command wrote on stderr when the channel ended (bounded, sanitised).
  var diagnostics: String {
    let text = String(decoding: stderrBytes, as: UTF8.self)
      .split(whereSeparator: \.isNewline).joined(separator: "; ")
    return SFTPError.sanitize(text, limit: 300)
  }

  /// Sends EOF, waits for the remote side to close (bounded by the session timeout) and frees
  /// the channel. Safe to call more than once, and after the session closed.
  func close() {
    guard let channel else { return }
    self.channel = nil
    guard let session, session.isOpen else { return }  // freed with the session
    libssh2_channel_send_eof(channel)
    libssh2_channel_close(channel)
    libssh2_channel_wait_closed(channel)
    libssh2_channel_free(channel)
    session.forget(self)
  }

  /// Called by the session while it closes: the channel dies with it.
  func invalidate() {
    guard let channel else { return }
    self.channel = nil
    libssh2_channel_free(channel)
  }

  private func open() throws(StreamError) -> OpaquePointer {
    guard let channel, let session, session.isOpen else {
      throw StreamError("the ssh channel for \(label) is closed")
    }
    return channel
  }

  private func collectStderr() {
    guard let channel else { return }
    var buffer = [CChar](repeating: 0, count: 4096)
    while stderrBytes.count < 8192 {
      let count = buffer.withUnsafeMutableBufferPointer {
        libssh2_channel_read_ex(channel, SSH_EXTENDED_DATA_STDERR, $0.baseAddress, $0.count)
      }
      guard count > 0 else { return }
      stderrBytes += buffer[0..<count].map { UInt8(bitPattern: $0) }
    }
  }

  private func waitForSocket() throws(StreamError) {
    guard let session, session.isOpen else { throw StreamError("the ssh session is closed") }
    guard session.waitForSocket() else {
      throw StreamError("no answer over ssh for \(label)", timedOut: true)
    }
  }

  private func failure(_ doing: String, code: Int32) -> StreamError {
    let text = session?.lastError().text ?? "session closed"
    return StreamError(
      "\(doing) \(label) over ssh failed: \(text) (libssh2 \(code))", timedOut: code == LIBSSH2_ERROR_TIMEOUT)
  }
}

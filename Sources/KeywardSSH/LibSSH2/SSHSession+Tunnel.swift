internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

extension SSHSession {
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

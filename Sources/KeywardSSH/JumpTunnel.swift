import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A ProxyJump hop: a direct-tcpip channel on the jump host's session, relayed to a socketpair
/// by a pump thread. The inner session runs on `localFD` as if it were a TCP socket.
final class JumpTunnel: SessionCarrier, @unchecked Sendable {
  /// The socket the inner session uses.
  let localFD: Int32
  private let outer: SSHSession
  private let channel: ChannelBox
  private let pumpFD: Int32
  private let stop = Atomic<Bool>(false)
  private let done = DispatchSemaphore(value: 0)
  private var finished = false

  init(outer: SSHSession, channel: ChannelBox, localFD: Int32, pumpFD: Int32) {
    self.outer = outer
    self.channel = channel
    self.localFD = localFD
    self.pumpFD = pumpFD
  }

  func start() {
    let thread = Thread { [self] in
      outer.pump(channel: channel, pumpFD: pumpFD) { stop.load(ordering: .relaxed) }
      done.signal()
    }
    thread.start()
  }

  /// Stops the pump (after the inner session closed its socket), then closes the jump session.
  func finish() {
    guard !finished else { return }
    finished = true
    stop.store(true, ordering: .relaxed)
    done.wait()
    outer.close()
  }
}

import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Opens TCP connections with a connect timeout and `TCP_NODELAY` set before the SSH
/// handshake (otherwise delayed ACKs stall key exchange and auth three times, ~40 ms each).
enum TCPConnector {
  /// Connects to `hostname:port`; returns a blocking socket. `family` is OpenSSH's
  /// AddressFamily (`any`, `inet`, `inet6`), `bindAddress` its BindAddress; `attempts` tries are
  /// made one second apart (ConnectionAttempts), each bounded by `timeout`.
  static func connect(
    host: String, hostname: String, port: Int, timeout: Duration, family: String = "any",
    bindAddress: String? = nil, attempts: Int = 1
  ) throws(TransportError) -> Int32 {
    // Resolved once, as ssh does: a name that does not resolve is not tried again.
    let first = try resolve(host: host, hostname: hostname, port: port, family: family)
    defer { freeaddrinfo(first) }
    var attempt = 1
    while true {
      do {
        return try connectOnce(
          first, host: host, hostname: hostname, port: port, timeout: timeout, bindAddress: bindAddress)
      } catch {
        guard attempt < attempts else { throw error }
        attempt += 1
        sleep(1)
      }
    }
  }

  /// The addresses of `hostname:port` (`getaddrinfo`); the caller frees the list.
  private static func resolve(host: String, hostname: String, port: Int, family: String)
    throws(TransportError)
    -> UnsafeMutablePointer<addrinfo>
  {
    var hints = addrinfo()
    hints.ai_family = family == "inet" ? AF_INET : family == "inet6" ? AF_INET6 : AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(hostname, String(port), &hints, &list)
    guard rc == 0, let first = list else {
      let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
      throw TransportError(
        code: .unreachable, host: host, step: .connect,
        message: "cannot resolve '\(hostname)': \(reason); check the host name or HostName in ssh_config")
    }
    return first
  }

  /// One connection attempt: every address in turn; the last failure when none answers.
  private static func connectOnce(
    _ first: UnsafeMutablePointer<addrinfo>, host: String, hostname: String, port: Int, timeout: Duration,
    bindAddress: String?
  ) throws(TransportError) -> Int32 {
    var lastError = TransportError(
      code: .unreachable, host: host, step: .connect, message: "no usable address")
    var entry: UnsafeMutablePointer<addrinfo>? = first
    while let info = entry {
      entry = info.pointee.ai_next
      do {
        return try attempt(
          info.pointee, host: host, hostname: hostname, port: port, timeout: timeout, bindAddress: bindAddress
        )
      } catch {
        lastError = error
      }
    }
    throw lastError
  }

  private static func attempt(
    _ info: addrinfo, host: String, hostname: String, port: Int, timeout: Duration, bindAddress: String?
  ) throws(TransportError) -> Int32 {
    let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
    guard fd >= 0 else {
      throw TransportError(
        code: .unreachable, host: host, step: .connect, message: "socket failed: \(errnoText())")
    }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    if let bindAddress {
      do throws(TransportError) {
        try bind(fd, to: bindAddress, family: info.ai_family, host: host)
      } catch {
        close(fd)
        throw error
      }
    }
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    let where_ = "'\(hostname):\(port)'"
    if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) != 0 {
      guard errno == EINPROGRESS else {
        let text = errnoText()
        close(fd)
        throw TransportError(
          code: .unreachable, host: host, step: .connect, message: "cannot connect to \(where_): \(text)")
      }
      var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
      let ms = Int32(clamping: max(1, timeout.milliseconds))
      var ready: Int32
      repeat { ready = poll(&pfd, 1, ms) } while ready < 0 && errno == EINTR
      if ready == 0 {
        close(fd)
        throw TransportError(
          code: .connectTimeout, host: host, step: .connect,
          message: "no answer from \(where_) within \(timeout) (host down or filtered?)")
      }
      var soError: Int32 = 0
      var length = socklen_t(MemoryLayout<Int32>.size)
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
      if ready < 0 || soError != 0 {
        let text = soError != 0 ? String(cString: strerror(soError)) : errnoText()
        close(fd)
        throw TransportError(
          code: .unreachable, host: host, step: .connect,
          message: "cannot connect to \(where_): \(text); is sshd running there?")
      }
    }
    _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
    return fd
  }

  /// BindAddress: binds the socket to a numeric local address of the same family.
  private static func bind(_ fd: Int32, to address: String, family: Int32, host: String)
    throws(TransportError)
  {
    var hints = addrinfo()
    hints.ai_family = family
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(address, nil, &hints, &list) == 0, let local = list else {
      throw TransportError(
        code: .unreachable, host: host, step: .connect,
        message: "BindAddress '\(address)' is not a numeric address of the server's address family")
    }
    defer { freeaddrinfo(list) }
    guard Glibc.bind(fd, local.pointee.ai_addr, local.pointee.ai_addrlen) == 0 else {
      throw TransportError(
        code: .unreachable, host: host, step: .connect,
        message: "cannot bind to BindAddress '\(address)': \(errnoText())")
    }
  }

  /// Waits until the server's identification line (`SSH-...` ending in a newline, after any
  /// lines a server may send before it) is in the socket's buffer, without consuming it: the
  /// banner is bounded in total by `timeout`, as OpenSSH's ConnectTimeout bounds it, even for a
  /// server that trickles it. False when it did not come in time or the connection closed.
  static func awaitBanner(_ fd: Int32, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    var buffer = [UInt8](repeating: 0, count: 8192)
    while true {
      let n = buffer.withUnsafeMutableBytes {
        recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT))
      }
      if n == 0 { return false }
      if n > 0 {
        var lineStart = 0
        for index in 0..<n where buffer[index] == 0x0A {
          if buffer[lineStart..<index].starts(with: Array("SSH-".utf8)) { return true }
          lineStart = index + 1
        }
        // A full buffer without the banner: leave the rest to libssh2.
        if n == buffer.count { return true }
      } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
        return false
      }
      let left = deadline - ContinuousClock.now
      guard left > .zero else { return false }
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      // Wake at least every 100 ms: more bytes of a partial line do not change POLLIN.
      _ = poll(&pfd, 1, Int32(clamping: min(100, max(1, left.milliseconds))))
      if n > 0 { usleep(20_000) }
    }
  }

  /// The numeric address of the peer of a connected socket (for CheckHostIP).
  static func peerAddress(_ fd: Int32) -> String? {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let got = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
    }
    guard got == 0 else { return nil }
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
      }
    }
    guard rc == 0 else { return nil }
    let bytes = host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// `sockaddr_is_local()`: loopback addresses, for which OpenSSH never checks the address.
  static func isLoopback(_ address: String) -> Bool {
    address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
  }

  static func errnoText() -> String { String(cString: strerror(errno)) }
}

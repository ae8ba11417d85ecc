import KeywardCore
import SFTP

#if canImport(Glibc)
  import Glibc
#endif

/// A remote command over a running master's control socket, spoken by keyward itself (OpenSSH's
/// `PROTOCOL.mux`, version 4) instead of by an `ssh -o ControlMaster=no` client process: the same
/// authenticated connection and the same channel the client would ask for, without starting
/// and tearing down an `ssh` (its config parsing, library loading and keys: about 4 ms of CPU
/// per command). The master writes the command's output straight into keyward's pipes (passed
/// with `SCM_RIGHTS`), as it does for its own clients; standard input is `/dev/null`.
///
/// Nothing about the connection changes: the master checks the socket peer's uid, the socket
/// lives in the transport's private 0700 directory, and host-key checking and authentication
/// were done by the master when it logged in.
enum MuxClient {
  static let hello: UInt32 = 0x0000_0001
  static let newSession: UInt32 = 0x1000_0002
  static let permissionDenied: UInt32 = 0x8000_0002
  static let failure: UInt32 = 0x8000_0003
  static let exitMessage: UInt32 = 0x8000_0004
  static let sessionOpened: UInt32 = 0x8000_0006
  static let version: UInt32 = 4

  /// Runs `command` over the master at `socket`; its exit status (255 when the session ended
  /// without one, as `ssh` reports it), standard output and standard error.
  static func run(socket path: String, command: String, timeout: Duration, outputLimit: Int = 64 << 20)
    throws(StreamError) -> (status: Int32, stdout: [UInt8], stderr: String)
  {
    let deadline = ContinuousClock.now + timeout
    let socket = try connect(path)
    defer { _ = Glibc.close(socket) }
    var input = Reader(fd: socket)

    try send(socket, frame(hello, version))
    guard let greeting = try input.frame(until: deadline), greeting.u32(at: 0) == hello else {
      throw StreamError("the ssh master at '\(path)' did not greet its client")
    }

    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard makePipe(&outPipe), makePipe(&errPipe) else {
      let code = errno
      for fd in outPipe + errPipe where fd >= 0 { _ = Glibc.close(fd) }
      throw StreamError("cannot create pipes: \(String(cString: strerror(code)))")
    }
    defer { for fd in [outPipe[0], errPipe[0]] { _ = Glibc.close(fd) } }
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    do throws(StreamError) {
      guard null >= 0 else { throw StreamError("cannot open /dev/null: \(String(cString: strerror(errno)))") }
      var request = frameBody(newSession, 1)
      request += string([])  // reserved
      request += u32(0) + u32(0) + u32(0) + u32(0)  // tty, X11, agent, subsystem: none
      request += u32(0xffff_ffff)  // no escape character
      request += string([])  // terminal type
      request += string(Array(command.utf8))
      try send(socket, u32(UInt32(request.count)) + request)
      for fd in [null, outPipe[1], errPipe[1]] { try sendDescriptor(socket, fd) }
    } catch {
      for fd in [null, outPipe[1], errPipe[1]] where fd >= 0 { _ = Glibc.close(fd) }
      throw error
    }
    // The master holds its own copies now: ours must close, or the pipes never reach EOF.
    for fd in [null, outPipe[1], errPipe[1]] { _ = Glibc.close(fd) }

    guard let reply = try input.frame(until: deadline) else {
      throw StreamError("the ssh master closed its control connection before the session opened")
    }
    switch reply.u32(at: 0) {
    case sessionOpened: break
    case permissionDenied, failure:
      throw StreamError("the ssh master refused the session: \(reply.text(at: 8) ?? "no reason given")")
    default:
      throw StreamError("the ssh master answered the session request with message \(reply.u32(at: 0) ?? 0)")
    }

    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var status: Int32?
    var open: [Int32] = [outPipe[0], errPipe[0], socket]
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while !open.isEmpty {
      // Both pipes at EOF and the exit status in hand: the command is done.
      if status != nil && !open.contains(outPipe[0]) && !open.contains(errPipe[0]) { break }
      let left = deadline - ContinuousClock.now
      guard left > .zero else {
        throw StreamError("the command did not finish within \(timeout)", timedOut: true)
      }
      var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      let milliseconds = Int32(
        clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
      let ready = poll(&fds, nfds_t(fds.count), milliseconds)
      if ready < 0 {
        if errno == EINTR { continue }
        throw StreamError("poll: \(String(cString: strerror(errno)))")
      }
      for entry in fds where entry.revents != 0 {
        if entry.fd == socket {
          guard let message = try input.frame(until: deadline) else {
            open.removeAll { $0 == socket }
            continue
          }
          if message.u32(at: 0) == exitMessage, let value = message.u32(at: 8) {
            status = Int32(value & 0xff)
          }
          continue
        }
        let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
        if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
        if count <= 0 {
          open.removeAll { $0 == entry.fd }
          continue
        }
        if entry.fd == outPipe[0] { stdout += buffer[0..<count] } else { stderr += buffer[0..<count] }
        if stdout.count + stderr.count > outputLimit {
          throw StreamError(
            "'\(SFTPError.sanitize(command, limit: 40))' wrote more than \(outputLimit >> 20) MiB")
        }
      }
    }
    let diagnostics = String(decoding: stderr, as: UTF8.self)
    guard let status else {
      return (
        255, stdout,
        diagnostics + (diagnostics.isEmpty ? "" : "\n") + "the session ended without an exit status"
      )
    }
    return (status, stdout, diagnostics)
  }

  // MARK: The wire

  private static func connect(_ path: String) throws(StreamError) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw StreamError("cannot create a socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else {
      _ = Glibc.close(fd)
      throw StreamError("the control socket path '\(path)' is too long")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard result == 0 else {
      let code = errno
      _ = Glibc.close(fd)
      throw StreamError("cannot reach the ssh master at '\(path)': \(String(cString: strerror(code)))")
    }
    return fd
  }

  private static func send(_ fd: Int32, _ bytes: [UInt8]) throws(StreamError) {
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw StreamError("writing to the ssh master: \(String(cString: strerror(errno)))")
      }
      offset += count
    }
  }

  /// One descriptor with one byte of data, as OpenSSH's `mm_send_fd` sends it.
  private static func sendDescriptor(_ socket: Int32, _ descriptor: Int32) throws(StreamError) {
    let headerSize = MemoryLayout<cmsghdr>.size
    let space = (headerSize + MemoryLayout<Int32>.size + 7) & ~7
    var control = [UInt8](repeating: 0, count: space)
    var byte: UInt8 = 0
    let sent: Int = control.withUnsafeMutableBytes { controlBytes in
      let header = controlBytes.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
      header.pointee.cmsg_len = headerSize + MemoryLayout<Int32>.size
      header.pointee.cmsg_level = SOL_SOCKET
      header.pointee.cmsg_type = Int32(SCM_RIGHTS)
      (controlBytes.baseAddress! + headerSize).storeBytes(of: descriptor, as: Int32.self)
      return withUnsafeMutablePointer(to: &byte) { bytePointer in
        var vector = iovec(iov_base: UnsafeMutableRawPointer(bytePointer), iov_len: 1)
        return withUnsafeMutablePointer(to: &vector) { vectorPointer in
          var message = msghdr()
          message.msg_iov = vectorPointer
          message.msg_iovlen = 1
          message.msg_control = controlBytes.baseAddress
          message.msg_controllen = space
          while true {
            let count = sendmsg(socket, &message, Int32(MSG_NOSIGNAL))
            if count < 0 && errno == EINTR { continue }
            return count
          }
        }
      }
    }
    guard sent == 1 else {
      throw StreamError("passing a descriptor to the ssh master: \(String(cString: strerror(errno)))")
    }
  }

  static func u32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
  }

  static func string(_ bytes: [UInt8]) -> [UInt8] { u32(UInt32(bytes.count)) + bytes }

  static func frameBody(_ type: UInt32, _ value: UInt32) -> [UInt8] { u32(type) + u32(value) }

  static func frame(_ type: UInt32, _ value: UInt32) -> [UInt8] { string(frameBody(type, value)) }

  /// Length-prefixed messages from the control socket.
  struct Reader {
    let fd: Int32
    var pending: [UInt8] = []

    /// The next message's body, nil at EOF.
    mutating func frame(until deadline: ContinuousClock.Instant) throws(StreamError) -> Message? {
      while true {
        if pending.count >= 4 {
          let length = Int(Message(bytes: pending).u32(at: 0)!)
          guard length <= 256 * 1024 else {
            throw StreamError("the ssh master sent a \(length)-byte message")
          }
          if pending.count >= 4 + length {
            let body = Array(pending[4..<(4 + length)])
            pending.removeFirst(4 + length)
            return Message(bytes: body)
          }
        }
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw StreamError("the ssh master did not answer in time", timedOut: true) }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
          clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        let ready = poll(&entry, 1, milliseconds)
        if ready < 0 && errno != EINTR { throw StreamError("poll: \(String(cString: strerror(errno)))") }
        if ready <= 0 { continue }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
          if errno == EINTR || errno == EAGAIN { continue }
          throw StreamError("reading from the ssh master: \(String(cString: strerror(errno)))")
        }
        if count == 0 {
          guard pending.isEmpty else {
            throw StreamError("the ssh master closed its control connection mid-message")
          }
          return nil
        }
        pending += buffer[0..<count]
      }
    }
  }

  struct Message {
    let bytes: [UInt8]

    func u32(at offset: Int) -> UInt32? {
      guard offset >= 0, bytes.count >= offset + 4 else { return nil }
      return bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A length-prefixed string at `offset`, sanitized for messages.
    func text(at offset: Int) -> String? {
      guard let length = u32(at: offset), bytes.count >= offset + 4 + Int(length) else { return nil }
      let raw = String(decoding: bytes[(offset + 4)..<(offset + 4 + Int(length))], as: UTF8.self)
      return SFTPError.sanitize(raw, limit: 200)
    }
  }

  private static func makePipe(_ fds: inout [Int32]) -> Bool {
    fds.withUnsafeMutableBufferPointer { muxPipe2($0.baseAddress!, Int32(O_CLOEXEC)) == 0 }
  }
}

/// glibc's `pipe2(2)`, which the Glibc module does not export.
@_silgen_name("pipe2")
private func muxPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

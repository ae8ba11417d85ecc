import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The askpass side of ``AskpassServer``: what the keyward executable does when `ssh` starts it
/// as `SSH_ASKPASS` (with the prompt as its one argument). It asks the run that started that
/// `ssh` over the run's socket and returns the answer; the command line prints it.
public enum AskpassClient {
  /// True when this process was started as the askpass of a keyward run (its socket and token
  /// are in the environment). Checked before any argument is parsed.
  public static var isRequested: Bool {
    getenv(AskpassServer.socketVariable) != nil && getenv(AskpassServer.tokenVariable) != nil
  }

  /// The answer to `prompt`, or nil when the run refuses it (anything but a key's passphrase)
  /// or cannot be reached: the askpass then exits non-zero and `ssh` takes that as no.
  public static func answer(prompt: String) -> String? {
    // SSH_ASKPASS_PROMPT is set for notifications ("none") and confirmations ("confirm"):
    // neither is a passphrase.
    guard getenv("SSH_ASKPASS_PROMPT") == nil,
      let socketPath = getenv(AskpassServer.socketVariable).map({ String(cString: $0) }),
      let token = getenv(AskpassServer.tokenVariable).map({ String(cString: $0) })
    else { return nil }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let path = Array(socketPath.utf8)
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: path)
      raw[path.count] = 0
    }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard connected == 0 else { return nil }
    // The run may be waiting for its user to type the passphrase: wait long, not forever.
    var limit = timeval(tv_sec: 600, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("\(token)\n\(getppid())\n\(prompt)".utf8)
    var offset = 0
    while offset < request.count {
      let count = request[offset...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return nil }
      offset += count
    }
    shutdown(fd, Int32(SHUT_WR))
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while reply.count < 65536 {
      let count = read(fd, &buffer, buffer.count)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      reply += buffer[0..<count]
    }
    guard reply.first == UInt8(ascii: "y") else { return nil }
    return String(decoding: reply.dropFirst(), as: UTF8.self)
  }
}

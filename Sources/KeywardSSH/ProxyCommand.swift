import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Something that carries a session's bytes and must be ended with it: a ProxyJump tunnel or a
/// ProxyCommand process.
protocol SessionCarrier: AnyObject, Sendable {
  /// Ends the carrier after the session closed its socket.
  func finish()
}

/// `ProxyCommand`: runs the command with `/bin/sh -c 'exec COMMAND'` (as OpenSSH does), its
/// stdin and stdout joined to one end of a socketpair; libssh2 runs the session on the other.
final class ProxyCommand: SessionCarrier, @unchecked Sendable {
  /// The socket the session uses.
  let localFD: Int32
  private let process: Process
  private var finished = false

  private init(localFD: Int32, process: Process) {
    self.localFD = localFD
    self.process = process
  }

  /// Expands the tokens OpenSSH allows in ProxyCommand: `%h` host name, `%p` port, `%r` remote
  /// user, `%n` the name as given, `%%`.
  static func expand(_ command: String, host: ResolvedHost, user: String) -> String {
    PathTokens.substitute(command) { token in
      switch token {
      case "h": host.hostname
      case "p": String(host.port)
      case "r": user
      case "n": host.alias
      case "%": "%"
      default: nil
      }
    }
  }

  /// Starts the command; returns the carrier whose `localFD` the session runs on.
  static func start(_ command: String, host: String) throws(TransportError) -> ProxyCommand {
    var pair: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0
    else {
      throw TransportError(
        code: .proxyFailed, host: host, step: .connect,
        message: "socketpair for ProxyCommand failed: \(TCPConnector.errnoText())")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "exec \(command)"]
    let remote = FileHandle(fileDescriptor: pair[1], closeOnDealloc: false)
    process.standardInput = remote
    process.standardOutput = remote
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      close(pair[0])
      close(pair[1])
      throw TransportError(
        code: .proxyFailed, host: host, step: .connect,
        message: "could not start ProxyCommand '\(command)': \(error.localizedDescription)")
    }
    close(pair[1])
    return ProxyCommand(localFD: pair[0], process: process)
  }

  /// Stops the command (SIGTERM to the process this carrier started) and reaps it.
  func finish() {
    guard !finished else { return }
    finished = true
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
  }
}

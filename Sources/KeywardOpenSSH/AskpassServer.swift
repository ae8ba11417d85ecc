import Foundation
import KeywardCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Answers `ssh`'s passphrase prompts for encrypted identity files, so that `ssh` can use them
/// without an agent, never prompting on a terminal itself.
///
/// When `OpenSSHSettings.passphrase` is set, every `ssh` of the run gets `SSH_ASKPASS` (the
/// keyward executable), `SSH_ASKPASS_REQUIRE=force` and this server's socket and token in its
/// environment. `ssh` then starts keyward as its askpass for every prompt; that process
/// (``AskpassClient``) hands the prompt to this server over a Unix socket in the transport's
/// private 0700 runtime directory and prints what it answers. The server answers only
/// `Enter passphrase for key '...':` (the key file `ssh` names), with
/// `OpenSSHSettings.passphrase(file)`; every other prompt (host-key confirmation, passwords,
/// PINs) is refused, so `ssh` behaves as under `BatchMode=yes`. The passphrase never enters an
/// environment, an argument vector or a file: it travels only over this socket, to a process
/// of the same user that presents the run's token.
final class AskpassServer: @unchecked Sendable {
  /// The socket the askpass connects to.
  let socketPath: String
  /// A random secret of this run: a request without it is refused.
  let token: String
  /// The program `ssh` starts as askpass (the keyward executable).
  let program: String
  private let listener: Int32
  private let answer: @Sendable (String) -> String?
  /// How often each `ssh` (by PID) asked for each key file's passphrase.
  private let asked = Mutex<[Int32: [String: Int]]>([:])
  private let stopped = Atomic<Bool>(false)
  private let finished = DispatchSemaphore(value: 0)

  /// The environment variables naming the socket and the token (read by ``AskpassClient``).
  static let socketVariable = "KEYWARD_ASKPASS_SOCKET"
  static let tokenVariable = "KEYWARD_ASKPASS_TOKEN"

  /// Listens on `directory/askpass` (the directory must be private) and serves on its own
  /// thread until `close()`. `host` names the host whose connection needed it (for the error).
  init(
    directory: String, program: String, host: String, answer: @escaping @Sendable (String) -> String?
  ) throws(TransportError) {
    socketPath = directory + "/askpass"
    self.program = program
    self.answer = answer
    var generator = SystemRandomNumberGenerator()
    token = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw OpenSSHErrors.askpassListen(host, String(cString: strerror(errno))) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let path = Array(socketPath.utf8)
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
      Glibc.close(fd)
      throw OpenSSHErrors.askpassListen(host, "the path '\(socketPath)' is too long for a socket")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: path)
      raw[path.count] = 0
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard bound == 0, chmod(socketPath, 0o600) == 0, listen(fd, 64) == 0 else {
      let reason = String(cString: strerror(errno))
      Glibc.close(fd)
      throw OpenSSHErrors.askpassListen(host, reason)
    }
    listener = fd
    let thread = Thread { [self] in serve() }
    thread.stackSize = 1 << 20
    thread.start()
  }

  /// The variables every `ssh` of the run gets in askpass mode.
  var environment: [String] {
    [
      "SSH_ASKPASS=\(program)", "SSH_ASKPASS_REQUIRE=force", "\(Self.socketVariable)=\(socketPath)",
      "\(Self.tokenVariable)=\(token)",
    ]
  }

  /// The key files the `ssh` with PID `pid` asked about, and how often (`ssh` asks again after
  /// a passphrase that does not decrypt the key).
  func prompts(by pid: Int32) -> [String: Int] { asked.withLock { $0[pid] ?? [:] } }

  /// Stops serving and removes the socket.
  func close() {
    guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
    shutdown(listener, Int32(SHUT_RDWR))
    // A request waiting on the terminal (a passphrase being typed) may keep the thread: then
    // its descriptor is left for the process's end rather than closed under it.
    if finished.wait(timeout: .now() + .seconds(2)) == .success { Glibc.close(listener) }
    unlink(socketPath)
  }

  private func serve() {
    defer { finished.signal() }
    while !stopped.load(ordering: .sequentiallyConsistent) {
      let connection = accept(listener, nil, nil)
      if connection < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return
      }
      _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
      handle(connection)
      Glibc.close(connection)
    }
  }

  /// One request: `TOKEN\nPPID\nPROMPT` from a process of this user; the reply is `y` and the
  /// passphrase, or `n`.
  private func handle(_ connection: Int32) {
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc's module leaves it out).
    var credentials: [UInt32] = [0, 0, 0]
    var length = socklen_t(12)
    guard getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, length == 12,
      credentials[1] == geteuid()
    else { return }
    var limit = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var request: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while request.count < 16384 {
      let count = read(connection, &buffer, buffer.count)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      request += buffer[0..<count]
    }
    let parts = request.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
    var reply = Array("n".utf8)
    if parts.count == 3, Self.same(Array(parts[0]), Array(token.utf8)),
      let pid = Int32(String(decoding: parts[1], as: UTF8.self)),
      let file = Self.keyFile(inPrompt: String(decoding: parts[2], as: UTF8.self))
    {
      asked.withLock { $0[pid, default: [:]][file, default: 0] += 1 }
      if let passphrase = answer(file), Self.canSend(passphrase) { reply = Array("y\(passphrase)".utf8) }
    }
    reply.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let count = write(connection, raw.baseAddress! + offset, raw.count - offset)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { return }
        offset += count
      }
    }
  }

  /// True when the client at `sshPath` honours `SSH_ASKPASS_REQUIRE=force` (OpenSSH 8.4 and
  /// later): an older one would prompt on a terminal once `BatchMode` is off, so with it
  /// keyward keeps `BatchMode=yes` (and encrypted keys need an agent, as before).
  static func isForcedBy(sshPath: String) -> Bool {
    guard
      let process = try? ProcessStream(
        arguments: [sshPath, "-V"], environment: ["PATH=/usr/bin:/bin", "LC_ALL=C"], timeout: .seconds(5))
    else { return false }
    SSHProcesses.started(process.pid)
    defer { SSHProcesses.reaped(process.pid) }
    var said: [UInt8] = []
    while let chunk = try? process.read(maximum: 4096), !chunk.isEmpty { said += chunk }
    process.close()
    return honoursForce(version: String(decoding: said, as: UTF8.self) + process.diagnostics)
  }

  /// Whether `ssh -V`'s words (`OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL ...`) name 8.4 or later.
  static func honoursForce(version: String) -> Bool {
    guard let start = version.range(of: "OpenSSH_") else { return false }
    let numbers = version[start.upperBound...].prefix { $0.isNumber || $0 == "." }.split(separator: ".")
    guard numbers.count >= 2, let major = Int(numbers[0]), let minor = Int(numbers[1]) else { return false }
    return (major, minor) >= (8, 4)
  }

  /// The key file of OpenSSH's passphrase prompt (`Enter passphrase for key '%.100s': `, from
  /// sshconnect2.c's `load_identity_file`; the path may be cut at 100 bytes), or nil for any
  /// other prompt: host-key confirmations, passwords, PINs, FIDO touches.
  static func keyFile(inPrompt prompt: String) -> String? {
    let prefix = "Enter passphrase for key '"
    var text = Substring(prompt)
    while text.last == " " { text = text.dropLast() }
    guard text.hasPrefix(prefix), text.hasSuffix("':") else { return nil }
    let file = text.dropFirst(prefix.count).dropLast(2)
    guard !file.isEmpty, !file.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
      return nil
    }
    return String(file)
  }

  /// `ssh` reads the askpass's output up to the first line break: a passphrase with one (or a
  /// NUL) cannot be passed whole, so none is sent.
  static func canSend(_ passphrase: String) -> Bool {
    !passphrase.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D })
  }

  /// Compares in time independent of where the bytes differ.
  static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
  }
}

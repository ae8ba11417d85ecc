public import SFTP

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A child process started by argv (no shell) whose stdin and stdout are a `ByteStream`:
/// a local `sftp-server`, possibly under `setpriv` to run as another user.
///
/// stderr is kept in a bounded buffer (`diagnostics`) for error messages. Reads and writes
/// wait at most `timeout` each (poll), and drain stdout and stderr while writing so neither
/// side can block the other. `close()` closes the pipes, waits `exitGrace` for the child by
/// its PID, then SIGKILLs that PID and reaps it: no child is ever left behind.
///
/// Starting the first stream sets SIGPIPE to ignored (when it is at its default) so a child
/// that exits early makes a write fail with EPIPE instead of killing keyward.
public final class ProcessStream: ByteStream {
  /// The child's process id.
  public let pid: pid_t
  /// The command, for messages.
  public let command: String
  /// The longest a single read or write waits for the child.
  public var timeout: Duration
  /// How long `close()` waits for the child to exit before killing it.
  public var exitGrace: Duration
  /// The child's exit status (`waitpid` status), once it has been reaped.
  public private(set) var exitStatus: Int32?

  private var input: Int32
  private var output: Int32
  private var errors: Int32
  private var pendingOutput: [UInt8] = []
  private var outputEnded = false
  private var errorBytes: [UInt8] = []
  private var closed = false

  /// The most stderr kept.
  public static let diagnosticsLimit = 8 * 1024
  /// The most stdout buffered while a write waits for the child to read.
  static let pendingLimit = 32 * 1024 * 1024

  /// Starts `arguments[0]` (an absolute path) with `arguments` as argv and `environment`
  /// as its whole environment.
  public init(
    arguments: [String], environment: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"],
    timeout: Duration = .seconds(30), exitGrace: Duration = .seconds(2)
  ) throws(StreamError) {
    guard let executable = arguments.first, executable.hasPrefix("/") else {
      throw StreamError("a command must start with an absolute path, not '\(arguments.first ?? "")'")
    }
    Self.ignoreSIGPIPE()
    self.command = SFTPError.sanitize(arguments.joined(separator: " "))
    self.timeout = timeout
    self.exitGrace = exitGrace
    var stdinPipe: [Int32] = [-1, -1]
    var stdoutPipe: [Int32] = [-1, -1]
    var stderrPipe: [Int32] = [-1, -1]
    func closeAll() {
      for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { _ = Glibc.close(fd) }
    }
    guard Self.makePipe(&stdinPipe), Self.makePipe(&stdoutPipe), Self.makePipe(&stderrPipe) else {
      let code = errno
      closeAll()
      throw StreamError("cannot create pipes for '\(executable)': \(String(cString: strerror(code)))")
    }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGPIPE)
    sigaddset(&defaults, SIGINT)
    sigaddset(&defaults, SIGTERM)
    sigaddset(&defaults, SIGHUP)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer {
      for pointer in argv + envp { free(pointer) }
    }
    var child: pid_t = 0
    let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
    _ = Glibc.close(stdinPipe[0])
    _ = Glibc.close(stdoutPipe[1])
    _ = Glibc.close(stderrPipe[1])
    guard result == 0 else {
      _ = Glibc.close(stdinPipe[1])
      _ = Glibc.close(stdoutPipe[0])
      _ = Glibc.close(stderrPipe[0])
      throw StreamError(
        "cannot start '\(SFTPError.sanitize(executable))': \(String(cString: strerror(result)))")
    }
    pid = child
    input = stdinPipe[1]
    output = stdoutPipe[0]
    errors = stderrPipe[0]
    for fd in [input, output, errors] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
  }

  deinit { close() }

  /// What the child wrote to stderr so far (at most `diagnosticsLimit` bytes), with control
  /// characters replaced; empty when it wrote nothing.
  public var diagnostics: String {
    let text = String(decoding: errorBytes, as: UTF8.self).trimmingWhitespace
    return SFTPError.sanitize(text, limit: 500)
  }

  public func write(_ bytes: [UInt8]) throws(StreamError) {
    guard !closed else { throw StreamError("'\(command)' is closed") }
    let deadline = ContinuousClock.now + timeout
    var written = 0
    while written < bytes.count {
      var fds = [pollfd(fd: input, events: Int16(POLLOUT), revents: 0)]
      if !outputEnded { fds.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
      if errors >= 0 { fds.append(pollfd(fd: errors, events: Int16(POLLIN), revents: 0)) }
      try waitFor(&fds, deadline: deadline, doing: "writing to")
      if fds[0].revents != 0 {
        let count = bytes.withUnsafeBytes { buffer in
          Glibc.write(input, buffer.baseAddress! + written, buffer.count - written)
        }
        if count > 0 {
          written += count
        } else if count < 0 && errno != EAGAIN && errno != EINTR {
          let code = errno
          throw StreamError(
            stopped(code == EPIPE ? "stopped reading its input" : String(cString: strerror(code))))
        }
      }
      for index in fds.indices.dropFirst() where fds[index].revents != 0 {
        if fds[index].fd == output { try drainOutput() } else { drainErrors() }
      }
    }
  }

  public func read(maximum: Int) throws(StreamError) -> [UInt8] {
    guard !closed else { throw StreamError("'\(command)' is closed") }
    if !pendingOutput.isEmpty {
      let count = min(maximum, pendingOutput.count)
      defer { pendingOutput.removeFirst(count) }
      return Array(pendingOutput[..<count])
    }
    if outputEnded { return [] }
    let deadline = ContinuousClock.now + timeout
    var buffer = [UInt8](repeating: 0, count: max(1, min(maximum, 256 * 1024)))
    while true {
      var fds = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
      if errors >= 0 { fds.append(pollfd(fd: errors, events: Int16(POLLIN), revents: 0)) }
      try waitFor(&fds, deadline: deadline, doing: "reading from")
      if fds.count > 1 && fds[1].revents != 0 { drainErrors() }
      guard fds[0].revents != 0 else { continue }
      let count = buffer.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress!, $0.count) }
      if count > 0 { return Array(buffer[..<count]) }
      if count == 0 {
        outputEnded = true
        return []
      }
      if errno != EAGAIN && errno != EINTR {
        throw StreamError(stopped(String(cString: strerror(errno))))
      }
    }
  }

  /// Closes the child's standard input only (it reads EOF); reading goes on. For a child that
  /// ends its work at EOF (an `ssh` carrying a session).
  public func closeInput() {
    guard !closed, input >= 0 else { return }
    _ = Glibc.close(input)
    input = -1
  }

  /// Closes the pipes, gives the child `exitGrace` to exit, then kills and reaps it.
  public func close() {
    guard !closed else { return }
    closed = true
    if input >= 0 { _ = Glibc.close(input) }
    _ = Glibc.close(output)
    let deadline = ContinuousClock.now + exitGrace
    var status: Int32 = 0
    while true {
      let reaped = waitpid(pid, &status, WNOHANG)
      if reaped == pid || (reaped < 0 && errno != EINTR) { break }
      if ContinuousClock.now >= deadline {
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        break
      }
      if errors >= 0 {
        var fds = [pollfd(fd: errors, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, 10)
        if fds[0].revents != 0 { drainErrors() }
      } else {
        usleep(10_000)
      }
    }
    exitStatus = status
    if errors >= 0 {
      drainErrors()
      _ = Glibc.close(errors)
      errors = -1
    }
  }

  // MARK: Plumbing

  private func waitFor(_ fds: inout [pollfd], deadline: ContinuousClock.Instant, doing: String)
    throws(StreamError)
  {
    while true {
      let left = deadline - ContinuousClock.now
      guard left > .zero else {
        throw StreamError("no answer from '\(command)' within \(timeout) while \(doing) it", timedOut: true)
      }
      let milliseconds = Int32(
        min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
      let ready = poll(&fds, nfds_t(fds.count), milliseconds)
      if ready > 0 { return }
      if ready < 0 && errno != EINTR {
        throw StreamError("poll failed for '\(command)': \(String(cString: strerror(errno)))")
      }
    }
  }

  private func drainOutput() throws(StreamError) {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    let count = buffer.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress!, $0.count) }
    if count > 0 {
      pendingOutput += buffer[..<count]
      if pendingOutput.count > Self.pendingLimit {
        throw StreamError("'\(command)' sent more than \(Self.pendingLimit) bytes nobody asked for")
      }
    } else if count == 0 {
      outputEnded = true
    }
  }

  private func drainErrors() {
    guard errors >= 0 else { return }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = buffer.withUnsafeMutableBytes { Glibc.read(errors, $0.baseAddress!, $0.count) }
      if count > 0 {
        let room = Self.diagnosticsLimit - errorBytes.count
        if room > 0 { errorBytes += buffer[..<min(count, room)] }
        continue
      }
      if count == 0 {
        _ = Glibc.close(errors)
        errors = -1
      }
      return
    }
  }

  private func stopped(_ reason: String) -> String {
    let detail = diagnostics
    return "'\(command)' \(reason)" + (detail.isEmpty ? "" : ": \(detail)")
  }

  /// A pipe whose ends close on exec, created atomically where the system can (`pipe2`), so a
  /// process spawned by another thread never inherits them.
  private static func makePipe(_ fds: inout [Int32]) -> Bool {
    #if os(Linux)
      fds.withUnsafeMutableBufferPointer { systemPipe2($0.baseAddress!, Int32(O_CLOEXEC)) == 0 }
    #else
      fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) == 0 }
        && fds.allSatisfy { fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }
    #endif
  }

  private static let sigpipeIgnored: Bool = {
    var current = sigaction()
    sigaction(SIGPIPE, nil, &current)
    if current.__sigaction_handler.sa_handler == nil {
      signal(SIGPIPE, SIG_IGN)
    }
    return true
  }()

  private static func ignoreSIGPIPE() { _ = sigpipeIgnored }
}

#if os(Linux)
  /// glibc's `pipe2(2)`, which the Glibc module does not export.
  @_silgen_name("pipe2")
  private func systemPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
#endif

extension String {
  fileprivate var trimmingWhitespace: String {
    var scalars = Substring(self)
    while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
    while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
    return String(scalars)
  }
}

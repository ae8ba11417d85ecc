import Foundation
import KeywardCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The OpenSSH-client transport: reaches hosts through the system's `ssh`, so everything `ssh`
/// can log in with works (RSA-SHA2 keys, user certificates, `sk-` keys, hosts known by
/// `@cert-authority`, every ssh_config option).
///
/// Per (host, login user) one master connection (ControlMaster) with its control socket in a
/// private 0700 directory, made when first needed and kept for the transport's life; over it
/// keyward's own SFTP client runs on `ssh -s ... sftp` (as the user) or on the host's
/// `sftp-server` under `setpriv` (as root acting for a user), and `getent`/`sshd -T` run as
/// remote commands. Reads and writes go through the core's `TargetReader` and `SafeReplace`.
/// `close()` ends every master (`ssh -O exit`, then by PID); call it when the command ends.
public final class OpenSSHTransport: Transport, @unchecked Sendable {
  public let settings: OpenSSHSettings
  let hosts: [String: HostSpec]
  /// Test-only hooks in the write path (`KEYWARD_TEST_FAULT`, or set by tests).
  public var faults: OpenSSHFaults? = OpenSSHFaults.fromEnvironment()

  private struct State {
    var directory: String?
    /// Answers ssh's passphrase prompts (when `settings.passphrase` is set), in `directory`.
    var askpass: AskpassServer?
    var idle: [GroupKey: OpenSSHHost] = [:]
    var all: [OpenSSHHost] = []
    var counter = 0
    var closed = false
  }
  private let state = Mutex(State())
  private let slots: DispatchSemaphore

  struct GroupKey: Hashable, Sendable {
    var host: String
    var loginUser: String
  }

  /// - Parameters:
  ///   - hosts: how to reach each host, by manifest name (unlisted hosts use ssh_config alone).
  ///   - settings: the client, keyward's ssh options and limits.
  public init(hosts: [String: HostSpec], settings: OpenSSHSettings) {
    self.hosts = hosts
    self.settings = settings
    self.slots = DispatchSemaphore(value: settings.parallelism)
  }

  deinit { close() }

  /// Ends every master connection and removes the runtime directory.
  public func close() {
    let (open, directory, askpass) = state.withLock { state in
      state.closed = true
      defer {
        state.all.removeAll()
        state.idle.removeAll()
        state.directory = nil
        state.askpass = nil
      }
      return (state.all, state.directory, state.askpass)
    }
    // Every master and session reads EOF first, so they all end side by side; then each is
    // waited for (and stopped by PID if it does not end), in parallel.
    for host in open { host.beginClose() }
    DispatchQueue.concurrentPerform(iterations: open.count) { open[$0].close() }
    askpass?.close()
    if let directory {
      try? FileManager.default.removeItem(atPath: directory)
      SSHProcesses.removed(directory: directory)
    }
  }

  /// The PIDs of the masters open now (for tests).
  public var masterPIDs: [Int32] { state.withLock { $0.all.filter(\.isAlive).map(\.master.pid) } }

  public func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
    let progress = ProgressCounter(.reading, total: targets.count, report: settings.progress)
    defer { progress.finish() }
    return await runGroups(targets, id: \.id, progress: progress) {
      host, request, users throws(TransportError) in
      try OpenSSHTargetOperations(host: host, groupUsers: users).fetch(request)
    }
  }

  public func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    (await writeReporting(requests)).mapValues(\.outcome)
  }

  public func writeReporting(_ requests: [WriteRequest]) async -> [TargetID: WriteResult] {
    let faults = self.faults
    let progress = ProgressCounter(.writing, total: requests.count, report: settings.progress)
    defer { progress.finish() }
    let results = await runGroups(requests, id: \.id, progress: progress) {
      host, request, users throws(TransportError) in
      try OpenSSHTargetOperations(host: host, groupUsers: users, faults: faults).write(
        request, verifier: FreshLogin(commandLine: host.commandLine))
    }
    return results.mapValues { result in
      switch result {
      case .success(let written): written
      case .failure(let error): WriteResult(outcome: .failed(error))
      }
    }
  }

  func login(for target: TargetID) -> String { hosts[target.host]?.connectAs ?? target.user }

  /// Groups by (host, login user); each group runs on its own thread (at most `parallelism` at
  /// once) over one master; every target gets its own result.
  private func runGroups<R: Sendable, Value: Sendable>(
    _ items: [R], id: KeyPath<R, TargetID> & Sendable, progress: ProgressCounter,
    operation: @escaping @Sendable (OpenSSHHost, R, [String]) throws(TransportError) -> Value
  ) async -> [TargetID: Result<Value, TransportError>] {
    var groups: [GroupKey: [R]] = [:]
    for item in items {
      let target = item[keyPath: id]
      groups[GroupKey(host: target.host, loginUser: login(for: target)), default: []].append(item)
    }
    return await withTaskGroup(of: [TargetID: Result<Value, TransportError>].self) { tasks in
      for (key, batch) in groups {
        tasks.addTask { [self] in
          await offPool { [self] in
            let users = batch.map { $0[keyPath: id].user }
            let results = runGroup(key, batch, id: id) { host, request throws(TransportError) in
              try operation(host, request, users)
            }
            progress.advance(by: batch.count)
            return results
          }
        }
      }
      var all: [TargetID: Result<Value, TransportError>] = [:]
      for await part in tasks { all.merge(part) { a, _ in a } }
      return all
    }
  }

  private func runGroup<R, Value>(
    _ key: GroupKey, _ requests: [R], id: KeyPath<R, TargetID>,
    operation: (OpenSSHHost, R) throws(TransportError) -> Value
  ) -> [TargetID: Result<Value, TransportError>] {
    var results: [TargetID: Result<Value, TransportError>] = [:]
    var current: OpenSSHHost?
    // A failed login is never retried within the call (each try costs one of the host's
    // MaxAuthTries and can trip fail2ban); a master lost mid-group is replaced once.
    var loginFailure: TransportError?
    var logins = 0
    for request in requests {
      let target = request[keyPath: id]
      if let loginFailure {
        results[target] = .failure(loginFailure)
        continue
      }
      do throws(TransportError) {
        let host: OpenSSHHost
        if let current {
          host = current
        } else if logins < 2 {
          logins += 1
          do throws(TransportError) {
            host = try checkOut(key)
          } catch {
            loginFailure = error
            throw error
          }
        } else {
          throw OpenSSHErrors.masterLost(key.host)
        }
        current = host
        let value = try operation(host, request)
        results[target] = .success(value)
      } catch {
        results[target] = .failure(error)
        if !OpenSSHErrors.keepsMaster(error) || current?.isAlive == false {
          current?.close()
          current = nil
        }
      }
    }
    if let current { checkIn(key, current) }
    return results
  }

  /// An idle master for `key` that still answers, else a new one.
  func checkOut(_ key: GroupKey) throws(TransportError) -> OpenSSHHost {
    let cached = state.withLock { $0.idle.removeValue(forKey: key) }
    if let cached {
      if cached.isAlive { return cached }
      cached.close()
    }
    let (directory, index, askpass) = try runtimeSlot(key.host)
    var commandLine = SSHCommandLine(settings: settings, alias: key.host, hosts: hosts)
    commandLine.askpass = askpass
    if let problem = commandLine.jumpProblem { throw OpenSSHErrors.jump(key.host, problem) }
    let master = try ControlMaster(
      commandLine: commandLine, user: key.loginUser, socket: "\(directory)/m\(index)",
      log: "\(directory)/m\(index).log")
    let host = OpenSSHHost(master: master, commandLine: commandLine)
    let closed = state.withLock { state in
      if !state.closed { state.all.append(host) }
      return state.closed
    }
    if closed {
      host.close()
      throw OpenSSHErrors.masterLost(key.host)
    }
    return host
  }

  func checkIn(_ key: GroupKey, _ host: OpenSSHHost) {
    let keep = state.withLock { state in
      guard !state.closed, state.idle[key] == nil else { return false }
      state.idle[key] = host
      return true
    }
    if !keep { host.close() }
  }

  /// The private runtime directory (made once, 0700), a fresh socket number, and the askpass
  /// (started in that directory with it, when there is a passphrase to give).
  private func runtimeSlot(_ host: String) throws(TransportError) -> (String, Int, AskpassServer?) {
    let result: Result<(String, Int, AskpassServer?), TransportError> = state.withLock { state in
      if state.directory == nil {
        let base =
          ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"].flatMap {
            FileManager.default.isWritableFile(atPath: $0) ? $0 : nil
          } ?? "/tmp"
        var template = Array("\(base)/keyward-ssh.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
          return .failure(OpenSSHErrors.runtimeDirectory(host, String(cString: strerror(errno))))
        }
        let path = String(cString: made)
        guard chmod(path, 0o700) == 0 else {
          return .failure(OpenSSHErrors.runtimeDirectory(host, String(cString: strerror(errno))))
        }
        state.directory = path
        SSHProcesses.made(directory: path)
        if let passphrase = settings.passphrase, AskpassServer.isForcedBy(sshPath: settings.sshPath) {
          do throws(TransportError) {
            state.askpass = try AskpassServer(
              directory: path, program: settings.askpassProgram, host: host, answer: passphrase)
          } catch {
            return .failure(error)
          }
        }
      }
      state.counter += 1
      return .success((state.directory!, state.counter, state.askpass))
    }
    return try result.get()
  }

  /// Runs blocking work on its own thread (never on Swift concurrency's pool), at most
  /// `parallelism` at once.
  func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    let slots = self.slots
    return await withCheckedContinuation { continuation in
      let thread = Thread {
        slots.wait()
        let value = body()
        slots.signal()
        continuation.resume(returning: value)
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
  }
}

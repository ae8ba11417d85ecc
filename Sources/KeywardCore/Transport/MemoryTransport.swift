import Synchronization

/// A transport over an in-memory file system, for tests and examples. It records every
/// operation in `trace` so tests can assert "read, compare, write temp, rename" and
/// "no write when stale", and it can be told to fail targets.
public final class MemoryTransport: Transport {
  /// One simulated account.
  public struct Account: Hashable, Sendable {
    public var content: [UInt8]?
    public var file: PathStatus?
    public var directory: PathStatus?
    public var home: PathStatus?
    public var uid: UInt32
    public var loginKeyFingerprint: String?

    public init(
      content: [UInt8]?, uid: UInt32 = 1000, fileMode: UInt32 = 0o600, directoryMode: UInt32? = 0o700,
      homeMode: UInt32 = 0o755, loginKeyFingerprint: String? = nil
    ) {
      self.content = content
      self.uid = uid
      self.file = content == nil ? nil : PathStatus(isRegularFile: true, mode: fileMode, uid: uid, gid: uid)
      self.directory = directoryMode.map { PathStatus(isDirectory: true, mode: $0, uid: uid, gid: uid) }
      self.home = PathStatus(isDirectory: true, mode: homeMode, uid: uid, gid: uid)
      self.loginKeyFingerprint = loginKeyFingerprint
    }
  }

  struct State {
    var accounts: [TargetID: Account]
    var failures: [TargetID: TransportError]
    var trace: [String]
  }

  private let state: Mutex<State>

  public init(accounts: [TargetID: Account] = [:]) {
    state = Mutex(State(accounts: accounts, failures: [:], trace: []))
  }

  /// Every operation so far, e.g. `read alice@web1`, `write-temp alice@web1`, `rename alice@web1`.
  public var trace: [String] { state.withLock { $0.trace } }

  /// The account as it is now.
  public func account(_ id: TargetID) -> Account? { state.withLock { $0.accounts[id] } }

  /// Replaces an account (to simulate someone else's edit).
  public func setAccount(_ id: TargetID, _ account: Account) { state.withLock { $0.accounts[id] = account } }

  /// Makes every later operation on `id` fail with `error`.
  public func fail(_ id: TargetID, with error: TransportError) { state.withLock { $0.failures[id] = error } }

  public func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
    state.withLock { state in
      var results: [TargetID: Result<ObservedTarget, TransportError>] = [:]
      for request in targets {
        let id = request.id
        state.trace.append("read \(id)")
        if let error = state.failures[id] {
          results[id] = .failure(error)
          continue
        }
        guard let account = state.accounts[id] else {
          results[id] = .failure(
            TransportError(
              code: .noSuchUser, host: id.host, step: .passwd,
              message: "user '\(id.user)' does not exist on this host"))
          continue
        }
        let home = "/home/\(id.user)"
        results[id] = .success(
          ObservedTarget(
            id: id, content: account.content, absolutePath: home + "/" + id.path, home: home,
            uid: account.uid, gid: account.uid, file: account.file, directory: account.directory,
            homeStatus: account.home, loginKeyFingerprint: account.loginKeyFingerprint))
      }
      return results
    }
  }

  public func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    state.withLock { state in
      var outcomes: [TargetID: WriteOutcome] = [:]
      for request in requests {
        let id = request.id
        if let error = state.failures[id] {
          outcomes[id] = .failed(error)
          continue
        }
        var account = state.accounts[id] ?? Account(content: nil, directoryMode: nil)
        state.trace.append("compare \(id)")
        let current = ContentDigest.of(account.content)
        guard current == request.expectedDigest else {
          outcomes[id] = .stale(currentDigest: current)
          continue
        }
        if account.directory == nil {
          state.trace.append("mkdir \(id)")
          account.directory = PathStatus(
            isDirectory: true, mode: request.directoryMode ?? 0o700, uid: account.uid, gid: account.uid)
        } else if let mode = request.directoryMode, account.directory?.mode != mode {
          state.trace.append("chmod-dir \(id)")
          account.directory?.mode = mode
        }
        state.trace.append("write-temp \(id)")
        state.trace.append("rename \(id)")
        account.content = request.content
        account.file = PathStatus(
          isRegularFile: true, mode: request.fileMode, uid: account.uid, gid: account.uid)
        state.accounts[id] = account
        outcomes[id] = .written(digest: ContentDigest.of(request.content))
      }
      return outcomes
    }
  }
}

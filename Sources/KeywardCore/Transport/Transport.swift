/// What the planner and applier need from targets: read their state, and write new
/// files atomically with compare-and-swap. Implementations: `LocalTransport` (this
/// machine's file system, or a root directory), `MemoryTransport` (tests) and the
/// libssh2 transport in `KeywardSSH`.
///
/// Both calls take a batch so that a transport can group targets by host, reuse one
/// session per host and run hosts in parallel. Every target gets its own result: one
/// failing target never fails another.
public protocol Transport: Sendable {
  /// Reads the current state of each target.
  func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>]
  /// Writes each file atomically, unless its current digest differs from the expected one.
  func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome]
  /// `write`, with what each write has to say that did not stop it (a stale lock broken, a
  /// backup not pruned). Transports over `SafeReplace` return its warnings; the default has none.
  func writeReporting(_ requests: [WriteRequest]) async -> [TargetID: WriteResult]
}

extension Transport {
  public func writeReporting(_ requests: [WriteRequest]) async -> [TargetID: WriteResult] {
    (await write(requests)).mapValues { WriteResult(outcome: $0) }
  }
}

/// One target to fetch.
public struct FetchRequest: Hashable, Sendable {
  public var id: TargetID
  /// Follow a symlinked `~/.ssh` or file (manifest `follow: true`) instead of refusing.
  public var follow: Bool
  /// Also read the newest backup keyward kept of the file (`ObservedTarget.latestBackup`).
  public var includeBackup: Bool
  /// The path may leave the user's home (manifest `outside_home: true`); otherwise a
  /// transport refuses an expanded path outside it (`PathConfinement.check`) before any I/O.
  public var allowOutsideHome: Bool
  /// Where the host cannot act as the target user, read with root's privileges instead of
  /// refusing (manifest `act_as_root: true`); the result says so (`ObservedTarget.actsAsRoot`).
  public var allowActingAsRoot: Bool

  public init(
    id: TargetID, follow: Bool = false, includeBackup: Bool = false, allowOutsideHome: Bool = false,
    allowActingAsRoot: Bool = false
  ) {
    self.id = id
    self.follow = follow
    self.includeBackup = includeBackup
    self.allowOutsideHome = allowOutsideHome
    self.allowActingAsRoot = allowActingAsRoot
  }
}

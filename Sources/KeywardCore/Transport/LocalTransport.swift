import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Targets on this machine's file system (pull mode), or under a root directory
/// (`--root DIR`: `DIR/etc/passwd`, `DIR/home/...`) for images and tests.
///
/// Reads go through `TargetReader` and writes through `SafeReplace`, over
/// `RootedFilePrimitives`: every path is resolved inside the root (`/` for this machine) through
/// no symlink, so nothing outside the root and nothing a symlink points at is reached, and
/// files and directories of anyone but the target user are refused. Run as root, the primitives
/// act as root confined that way and give new files to the target user; run as anyone else,
/// keyward can manage only that user's own files (others are refused with the reason).
public struct LocalTransport: Transport {
  /// The root directory (`/` for the real system).
  public var root: String
  /// The host name targets must have to be handled here.
  public var host: String
  /// Called at fixed points of every write (process-death tests only; see `KEYWARD_TEST_FAULT`).
  public var checkpoint: (@Sendable (SafeReplace.Checkpoint) -> Void)?

  public init(
    root: String = "/", host: String, checkpoint: (@Sendable (SafeReplace.Checkpoint) -> Void)? = nil
  ) {
    self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    self.host = host
    self.checkpoint = checkpoint
  }

  private func error(_ id: TargetID, _ step: String, _ code: String, _ message: String) -> TransportError {
    TransportError(code: code, host: id.host, step: step, message: message)
  }

  /// The primitives for this transport's root, and the policy they imply.
  func primitives(for id: TargetID) -> Result<(any FilePrimitives, AccessPolicy), TransportError> {
    do {
      let files = try RootedFilePrimitives(root: root)
      return .success((files, AccessPolicy(privileged: geteuid() == 0, rootOwnedAllowed: id.user == "root")))
    } catch {
      return .failure(self.error(id, "open", "root-unusable", "cannot open the root directory: \(error)"))
    }
  }

  /// The target's account, from NSS (`/`) or `ROOT/etc/passwd` (read inside the root), refused
  /// when this process could not act for it.
  func account(_ id: TargetID, files: any FilePrimitives) -> Result<PasswdEntry, TransportError> {
    let entry: PasswdEntry?
    if root == "/" {
      entry = PasswdEntry.system(id.user)
    } else {
      guard let text = Self.readPasswd(files) else {
        return .failure(
          error(
            id, "passwd", "passwd-unreadable",
            "cannot read '\(root)/etc/passwd' (a regular file inside the root); is '\(root)' a root file system?"
          ))
      }
      entry = PasswdEntry.parse(text)[id.user]
    }
    guard let entry else {
      return .failure(error(id, "passwd", "no-such-user", "user '\(id.user)' does not exist on this host"))
    }
    let me = geteuid()
    if me != 0 && (root != "/" || entry.uid != me) {
      let name = PasswdEntry.name(ofUID: me) ?? "uid \(me)"
      return .failure(
        error(
          id, "passwd", "not-permitted",
          root == "/"
            ? "keyward --local runs as '\(name)', so it manages only that user's own files; run it as root"
              + " to manage '\(id.user)'"
            : "keyward --root needs root (or fakeroot): it gives each file to its user"))
    }
    return .success(entry)
  }

  /// `etc/passwd` inside the root: a regular file, read through no symlink, within the size limit.
  static func readPasswd(_ files: any FilePrimitives) -> String? {
    guard let status = try? files.status("/etc/passwd", follow: false), status.kind == .regular,
      let handle = try? files.openForReading("/etc/passwd", follow: false)
    else { return nil }
    defer { files.close(handle) }
    guard let opened = try? files.status(of: handle), opened.kind == .regular,
      opened.size <= AccessPolicy.defaultSizeLimit
    else { return nil }
    var bytes: [UInt8] = []
    while let chunk = try? files.read(handle, offset: UInt64(bytes.count), count: 65_536), !chunk.isEmpty {
      bytes += chunk
      if UInt64(bytes.count) > AccessPolicy.defaultSizeLimit { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  // MARK: - Fetch

  public func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
    var results: [TargetID: Result<ObservedTarget, TransportError>] = [:]
    for request in targets {
      results[request.id] = fetchOne(request)
    }
    return results
  }

  func fetchOne(_ request: FetchRequest) -> Result<ObservedTarget, TransportError> {
    let files: any FilePrimitives
    let policy: AccessPolicy
    switch primitives(for: request.id) {
    case .success(let pair): (files, policy) = pair
    case .failure(let error): return .failure(error)
    }
    switch account(request.id, files: files) {
    case .success(let entry):
      return TargetReader(files: files, policy: policy).read(request, account: entry)
    case .failure(let error):
      return .failure(error)
    }
  }

  // MARK: - Write

  public func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    var outcomes: [TargetID: WriteOutcome] = [:]
    for request in requests {
      outcomes[request.id] = writeOne(request).outcome
    }
    return outcomes
  }

  /// One write through the safe-replace sequence, with its warnings.
  public func writeOne(_ request: WriteRequest) -> WriteResult {
    let files: any FilePrimitives
    let policy: AccessPolicy
    switch primitives(for: request.id) {
    case .success(let pair): (files, policy) = pair
    case .failure(let error): return WriteResult(outcome: .failed(error))
    }
    switch account(request.id, files: files) {
    case .success(let entry):
      let checkpoint = self.checkpoint
      return SafeReplace(
        files: files, account: entry, policy: policy, checkpoint: checkpoint.map { hook in { hook($0) } }
      ).write(request)
    case .failure(let error):
      return WriteResult(outcome: .failed(error))
    }
  }
}

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Targets on this machine's file system (pull mode), or under a root directory
/// (`--root DIR`: `DIR/etc/passwd`, `DIR/home/...`) for images and tests.
///
/// Reads go through `TargetReader` and writes through `SafeReplace`; files and directories of
/// anyone but the target user are refused. The primitives:
/// - live, as root: an `sftp-server` child run as the target user (`setpriv --reuid --regid
///   --init-groups`), so every access is the user's own (a symlink reaches only what the user
///   could reach by hand); root's own targets are reached as root.
/// - live, not root: this process's own rights, for its own files only (other users' targets
///   are refused with the reason).
/// - `--root DIR` (as root): `RootedFilePrimitives`, every path resolved inside DIR through no
///   symlink, new files given to the target user.
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

  private func error(
    _ id: TargetID, _ step: TransportError.Step, _ code: TransportError.Code, _ message: String
  ) -> TransportError {
    TransportError(code: code, host: id.host, step: step, message: message)
  }

  /// Where OpenSSH installs `sftp-server` (Debian, Fedora/RHEL, Arch/SUSE).
  static let sftpServers = [
    "/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/ssh/sftp-server",
    "/usr/libexec/sftp-server",
  ]

  /// The primitives one target user's files are reached with, the policy they imply, and the
  /// account. Live as root: an `sftp-server` run as the user (`setpriv --reuid --regid
  /// --init-groups`), so the kernel checks every access with the user's own rights; for root's
  /// own targets and for a run that is not root, the primitives act as this process.
  /// Under `--root DIR`: the confined primitives, as this process.
  struct Session {
    var files: any FilePrimitives
    var policy: AccessPolicy
    var account: PasswdEntry
  }

  func session(for id: TargetID) -> Result<Session, TransportError> {
    let me = geteuid()
    if root != "/" {
      let files: RootedFilePrimitives
      do {
        files = try RootedFilePrimitives(root: root)
      } catch {
        return .failure(self.error(id, .open, .rootUnusable, "cannot open the root directory: \(error)"))
      }
      guard let text = Self.readPasswd(files) else {
        return .failure(
          error(
            id, .passwd, .passwdUnreadable,
            "cannot read '\(root)/etc/passwd' (a regular file inside the root); is '\(root)' a root file system?"
          ))
      }
      guard let entry = PasswdEntry.parse(text)[id.user] else {
        return .failure(error(id, .passwd, .noSuchUser, "user '\(id.user)' does not exist on this host"))
      }
      guard me == 0 else {
        return .failure(
          error(
            id, .passwd, .notPermitted,
            "keyward --root needs root (or fakeroot): it gives each file to its user"))
      }
      return .success(
        Session(
          files: files, policy: AccessPolicy(privileged: true, rootOwnedAllowed: entry.uid == 0),
          account: entry))
    }
    guard let entry = PasswdEntry.system(id.user) else {
      return .failure(error(id, .passwd, .noSuchUser, "user '\(id.user)' does not exist on this host"))
    }
    if me != 0 && entry.uid != me {
      let name = PasswdEntry.name(ofUID: me) ?? "uid \(me)"
      return .failure(
        error(
          id, .passwd, .notPermitted,
          "keyward --local runs as '\(name)', so it manages only that user's own files; run it as root"
            + " to manage '\(id.user)'"))
    }
    if me != 0 || entry.uid == 0 {
      // Acting as this process is acting as the target user.
      do {
        let files = try RootedFilePrimitives(root: "/")
        return .success(
          Session(
            files: files, policy: AccessPolicy(privileged: false, rootOwnedAllowed: entry.uid == 0),
            account: entry))
      } catch {
        return .failure(self.error(id, .open, .rootUnusable, "cannot open '/': \(error)"))
      }
    }
    let fm = FileManager.default
    guard fm.isExecutableFile(atPath: "/usr/bin/setpriv"),
      let server = Self.sftpServers.first(where: fm.isExecutableFile(atPath:))
    else {
      return .failure(
        error(
          id, .connect, .privilegeDropUnavailable,
          "cannot act as '\(id.user)' on this machine: it needs /usr/bin/setpriv (util-linux) and OpenSSH's"
            + " sftp-server; keyward does not touch a user's files as root"))
    }
    do {
      let files = try SFTPFilePrimitives.start(arguments: [
        "/usr/bin/setpriv", "--reuid=\(entry.uid)", "--regid=\(entry.gid)", "--init-groups", "--", server,
      ])
      return .success(Session(files: files, policy: AccessPolicy(privileged: false), account: entry))
    } catch {
      return .failure(
        self.error(
          id, .connect, .privilegeDropFailed,
          "cannot start sftp-server as '\(id.user)' (uid \(entry.uid)): \(error.detail)"))
    }
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
    var sessions: [String: Result<Session, TransportError>] = [:]
    for request in targets {
      let session = sessions[request.id.user] ?? self.session(for: request.id)
      sessions[request.id.user] = session
      switch session {
      case .success(let session):
        results[request.id] = TargetReader(files: session.files, policy: session.policy).read(
          request, account: session.account)
      case .failure(let error):
        results[request.id] = .failure(
          TransportError(code: error.code, host: request.id.host, step: error.step, message: error.message))
      }
    }
    return results
  }

  // MARK: - Write

  public func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    (await writeReporting(requests)).mapValues(\.outcome)
  }

  public func writeReporting(_ requests: [WriteRequest]) async -> [TargetID: WriteResult] {
    var results: [TargetID: WriteResult] = [:]
    var sessions: [String: Result<Session, TransportError>] = [:]
    for request in requests {
      let session = sessions[request.id.user] ?? self.session(for: request.id)
      sessions[request.id.user] = session
      results[request.id] = write(request, session: session)
    }
    return results
  }

  private func write(_ request: WriteRequest, session: Result<Session, TransportError>) -> WriteResult {
    switch session {
    case .success(let session):
      let checkpoint = self.checkpoint
      return SafeReplace(
        files: session.files, account: session.account, policy: session.policy,
        checkpoint: checkpoint.map { hook in { hook($0) } }
      ).write(request)
    case .failure(let error):
      return WriteResult(outcome: .failed(error))
    }
  }
}

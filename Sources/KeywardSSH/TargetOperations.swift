import Foundation
import KeywardCore

/// Reads and writes one target's file over an authenticated session: path resolution against
/// the user's home, symlink refusal, compare-and-swap, atomic replace and read-back.
struct TargetOperations {
  let host: HostSession
  let settings: SSHSettings
  /// Every user this session will be asked about, fetched with one `getent` call.
  var groupUsers: [String] = []
  /// Logs in afresh after a write (`WriteRequest.verifyLogin`); nil: no check.
  var verifier: LoginVerifier?
  /// Test-only hooks in the write path.
  var faults: FaultInjection?

  /// Errors that concern one target only: the session stays usable for the others.
  static func keepsSession(_ error: TransportError) -> Bool {
    [
      "symlink-refused", "user-unknown", "not-a-file", "invalid-path", "verify-failed", "locked",
      "ownership-refused", "cannot-act-as-user", "backup-refused", "permission-denied",
    ].contains(error.code)
  }

  private var name: String { host.host }

  /// The SFTP session with the rights of `user` (never root acting for someone else).
  private func files(_ account: HostSession.Account, _ user: String) throws(TransportError) -> RemoteFiles {
    try host.files(for: user, account: account)
  }

  // MARK: accounts

  /// Home directory, uid and gid of `user` on the host.
  func account(for user: String) throws(TransportError) -> HostSession.Account {
    if let known = host.accounts[user] { return known }
    if user == host.loginUser {
      let files = try host.files(for: user, account: nil)
      let home = try files.realpath(".", step: "read")
      guard let status = try files.attributes(home, follow: true, step: "read") else {
        throw TransportError(
          code: "user-unknown", host: name, step: "read",
          message: "the home directory '\(home)' of '\(user)' is missing")
      }
      let account = HostSession.Account(home: home, uid: status.uid, gid: status.gid)
      host.accounts[user] = account
      return account
    }
    try lookUpAccounts(Array(Set(groupUsers + [user])).sorted())
    guard let account = host.accounts[user] else {
      throw TransportError(
        code: "user-unknown", host: name, step: "read",
        message:
          "user '\(user)' does not exist on '\(name)' (not in 'getent passwd'); create it or fix the manifest"
      )
    }
    return account
  }

  private func lookUpAccounts(_ users: [String]) throws(TransportError) {
    let valid = users.filter { Self.isValidUserName($0) && host.accounts[$0] == nil }
    guard !valid.isEmpty else { return }
    // As root, the same round trip finds the helpers needed to act as each user.
    let probe = host.loginUser == "root" && host.helpers == nil
    let command =
      "getent passwd " + valid.joined(separator: " ")
      + (probe ? "; echo \"keyward-getent $?\"; " + HostSession.probeScript : "")
    let result = try host.session.exec(command, step: "read")
    let output = String(decoding: result.stdout, as: UTF8.self)
    var status = result.status
    if probe {
      host.helpers = HostSession.parseHelpers(output)
      if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("keyward-getent ") }),
        let code = Int32(line.dropFirst("keyward-getent ".count))
      {
        status = code
      }
    }
    if status == 127 || (status != 0 && status != 2) {
      let text = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(
        in: .whitespacesAndNewlines)
      throw TransportError(
        code: "getent-failed", host: name, step: "read",
        message:
          "'getent passwd' failed with status \(status) as '\(host.loginUser)': \(text);"
          + " connect_as needs a shell account with getent")
    }
    for line in output.split(separator: "\n") {
      let fields = line.split(separator: ":", omittingEmptySubsequences: false)
      guard fields.count >= 7, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { continue }
      host.accounts[String(fields[0])] = HostSession.Account(home: String(fields[5]), uid: uid, gid: gid)
    }
  }

  static func isValidUserName(_ user: String) -> Bool {
    guard let first = user.first, first != "-" else { return false }
    return user.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-$".contains($0)) }
  }

  // MARK: paths

  struct Location {
    var account: HostSession.Account
    var path: String
    var directory: String
  }

  func locate(_ id: TargetID) throws(TransportError) -> Location {
    let account = try account(for: id.user)
    var path = id.path.replacingOccurrences(of: "%h", with: account.home)
    if !path.hasPrefix("/") { path = account.home + "/" + path }
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    guard !parts.isEmpty, !parts.contains(".."), !path.hasSuffix("/") else {
      throw TransportError(
        code: "invalid-path", host: name, step: "read", message: "invalid target path '\(id.path)'")
    }
    path = "/" + parts.joined(separator: "/")
    let directory = "/" + parts.dropLast().joined(separator: "/")
    return Location(account: account, path: path, directory: directory)
  }

  private func symlinkRefused(_ path: String, _ id: TargetID) -> TransportError {
    TransportError(
      code: "symlink-refused", host: name, step: "read",
      message:
        "'\(path)' for '\(id)' is a symlink; keyward does not write through symlinks unless the target sets"
        + " 'follow: true'")
  }

  // MARK: fetch

  func fetch(_ request: FetchRequest) throws(TransportError) -> ObservedTarget {
    let location = try locate(request.id)
    let session = try files(location.account, request.id.user)
    let homeStatus = try session.attributes(location.account.home, follow: false, step: "read")
    var directoryStatus = try session.attributes(location.directory, follow: false, step: "read")
    if let status = directoryStatus, status.pathStatus.isSymlink {
      guard request.follow else { throw symlinkRefused(location.directory, request.id) }
      directoryStatus = try session.attributes(location.directory, follow: true, step: "read")
    }
    var fileStatus = try session.attributes(location.path, follow: false, step: "read")
    var absolutePath = location.path
    if let status = fileStatus, status.pathStatus.isSymlink {
      guard request.follow else { throw symlinkRefused(location.path, request.id) }
      fileStatus = try session.attributes(location.path, follow: true, step: "read")
      if fileStatus != nil { absolutePath = try session.realpath(location.path, step: "read") }
    }
    var content: [UInt8]?
    if let status = fileStatus {
      guard status.pathStatus.isRegularFile else {
        throw TransportError(
          code: "not-a-file", host: name, step: "read", message: "'\(location.path)' is not a regular file")
      }
      content = try session.read(absolutePath, step: "read")
    }
    var latestBackup: Backup?
    if request.includeBackup {
      let directory = (absolutePath as NSString).deletingLastPathComponent
      let file = (absolutePath as NSString).lastPathComponent
      latestBackup = try RemoteBackups(session: session, directory: directory, file: file).latest(
        owner: location.account.uid)
    }
    return ObservedTarget(
      id: request.id, content: content, absolutePath: absolutePath, home: location.account.home,
      uid: location.account.uid, gid: location.account.gid, file: fileStatus?.pathStatus,
      directory: directoryStatus?.pathStatus, homeStatus: homeStatus?.pathStatus,
      loginKeyFingerprint: request.id.user == host.loginUser ? host.loginKeyFingerprint : nil,
      latestBackup: latestBackup)
  }

  // MARK: write

  func write(_ request: WriteRequest) throws(TransportError) -> WriteOutcome {
    let location = try locate(request.id)
    let account = location.account
    // Every operation below runs with the target user's own rights: what it creates is theirs.
    let session = try files(account, request.id.user)
    var directory = location.directory
    switch try session.attributes(directory, follow: false, step: "write") {
    case nil:
      // No directory, so no file: a plan that saw one is stale, and nothing is created.
      guard request.expectedDigest == ContentDigest.absent else {
        return .stale(currentDigest: ContentDigest.absent)
      }
      try session.makeDirectory(directory, mode: 0o700)
    case let status? where status.pathStatus.isSymlink:
      guard request.follow else { throw symlinkRefused(directory, request.id) }
      directory = try session.realpath(directory, step: "write")
    case let status? where !status.pathStatus.isDirectory:
      throw TransportError(
        code: "not-a-file", host: name, step: "write", message: "'\(directory)' exists but is not a directory"
      )
    default:
      break
    }
    var target = directory + "/" + (location.path as NSString).lastPathComponent
    if let status = try session.attributes(target, follow: false, step: "write"), status.pathStatus.isSymlink
    {
      guard request.follow else { throw symlinkRefused(location.path, request.id) }
      target = try session.realpath(target, step: "write")
      directory = (target as NSString).deletingLastPathComponent
    }
    // Compare-and-swap, first check: nothing is written when the file already changed.
    let before = ContentDigest.of(try session.read(target, step: "write"))
    guard before == request.expectedDigest else { return .stale(currentDigest: before) }
    let base = (target as NSString).lastPathComponent
    let previousStatus = try session.attributes(target, follow: false, step: "write")
    try checkOwnership(session, directory: directory, file: previousStatus, account: account, id: request.id)

    // One run at a time per file: everything from here to the release happens under the lock.
    let lock = try RemoteLock.acquire(session, directory: directory, file: base)
    defer { lock.release(session) }
    if let warning = lock.brokeStale { Self.warn("\(name): \(warning)") }
    let fd = host.session.fd
    faults?.hook(.afterLock, fd)
    removeLeftovers(session, directory: directory, file: base)

    let temporary = "\(directory)/.\(base).keyward-\(UInt64.random(in: 0...UInt64.max), radix: 16)"
    let previous: [UInt8]?
    do throws(TransportError) {
      let total = request.content.count
      do throws(TransportError) {
        try session.createExclusive(
          temporary, content: request.content, mode: request.fileMode,
          progress: faults.map { faults in { faults.hook(.writing(offset: $0, total: total), fd) } })
      } catch {
        throw Self.explainFailure(error)
      }
      faults?.hook(.afterTemp, fd)
      // Second check, under the lock, right before the atomic replace.
      previous = try session.read(target, step: "write")
      let now = ContentDigest.of(previous)
      guard now == request.expectedDigest else {
        session.unlink(temporary)
        return .stale(currentDigest: now)
      }
      if let previous, request.backupLimit > 0 {
        try RemoteBackups(session: session, directory: directory, file: base).keep(
          content: previous, mode: previousStatus?.pathStatus.mode ?? 0o600, limit: request.backupLimit)
      }
      faults?.hook(.beforeRename, fd)
      if try !session.posixRename(temporary, target) {
        try fallbackReplace(session, temporary, target, exists: now != ContentDigest.absent)
      }
      session.syncDirectory(directory)
    } catch {
      session.unlink(temporary)
      throw error
    }
    let written = ContentDigest.of(try session.read(target, step: "verify"))
    let wanted = ContentDigest.of(request.content)
    guard written == wanted else {
      throw TransportError(
        code: "verify-failed", host: name, step: "verify",
        message:
          "'\(target)' reads back with digest \(written), not the \(wanted) just written; check it by hand")
    }
    if request.verifyLogin, let verifier, let fingerprint = host.loginKeyFingerprint,
      LoginVerifier.authorizes(request.content, fingerprint: fingerprint),
      let failure = verifier.check(host: request.id.host, user: request.id.user)
    {
      return try rollBack(
        session, target: target, directory: directory, previous: previous,
        mode: previousStatus?.pathStatus.mode,
        id: request.id, fingerprint: fingerprint, failure: failure)
    }
    return .written(digest: written)
  }

  /// Puts the previous file back (same temp-and-rename path) after a failed login check.
  private func rollBack(
    _ session: RemoteFiles, target: String, directory: String, previous: [UInt8]?, mode: UInt32?,
    id: TargetID, fingerprint: String, failure: TransportError
  ) throws(TransportError) -> WriteOutcome {
    let reason =
      "a fresh login as '\(id.user)' with the run's key \(fingerprint) failed after the write"
      + " (\(failure.step): \(failure.message))"
    do throws(TransportError) {
      if let previous {
        let base = (target as NSString).lastPathComponent
        let temporary = "\(directory)/.\(base).keyward-\(UInt64.random(in: 0...UInt64.max), radix: 16)"
        do throws(TransportError) {
          try session.createExclusive(temporary, content: previous, mode: mode ?? 0o600)
          if try !session.posixRename(temporary, target) {
            try fallbackReplace(session, temporary, target, exists: true)
          }
        } catch {
          session.unlink(temporary)
          throw error
        }
      } else {
        session.unlink(target)
      }
      let restored = try session.read(target, step: "rollback")
      guard restored == previous else {
        throw TransportError(
          code: "rollback-failed", host: name, step: "rollback",
          message: "'\(target)' does not read back as the previous file")
      }
    } catch {
      throw TransportError(
        code: "rollback-failed", host: name, step: "rollback",
        message:
          "\(reason); restoring the previous file also failed (\(error.message)); the previous file is kept"
          + " beside it as the newest '\(Backup.prefix(for: (target as NSString).lastPathComponent))*'"
          + " backup: restore it with 'keyward rollback \(id.user)@\(id.host)' or by hand")
    }
    return .rolledBack(
      TransportError(
        code: "login-check-failed", host: name, step: "verify",
        message: reason + "; the previous file was restored"))
  }

  /// As root, refuses to write into a directory or over a file owned by another ordinary user
  /// (someone else's file reached through a path or a shared directory).
  private func checkOwnership(
    _ session: RemoteFiles, directory: String, file: RemoteAttributes?, account: HostSession.Account,
    id: TargetID
  ) throws(TransportError) {
    guard host.loginUser == "root", id.user != "root" else { return }
    let allowed: Set<UInt32> = [0, account.uid]
    if let status = try session.attributes(directory, follow: true, step: "write"),
      !allowed.contains(status.uid)
    {
      throw TransportError(
        code: "ownership-refused", host: name, step: "write",
        message:
          "'\(directory)' is owned by uid \(status.uid), not by '\(id.user)' (uid \(account.uid)) or root;"
          + " refusing to write another user's directory: fix its owner or the target's path")
    }
    if let file, !allowed.contains(file.uid) {
      throw TransportError(
        code: "ownership-refused", host: name, step: "write",
        message:
          "the file for '\(id)' is owned by uid \(file.uid), not by '\(id.user)' (uid \(account.uid)) or root;"
          + " refusing to replace another user's file: fix its owner or the target's path")
    }
  }

  /// Removes temp files an interrupted earlier run left beside `file` (the lock is held).
  private func removeLeftovers(_ session: RemoteFiles, directory: String, file: String) {
    guard let names = try? session.listDirectory(directory, step: "write") else { return }
    for entry in names where entry.hasPrefix(".\(file).keyward-") {
      session.unlink(directory + "/" + entry)
    }
  }

  /// SFTP v3 reports a full (or read-only) file system only as a generic failure: say so.
  static func explainFailure(_ error: TransportError) -> TransportError {
    guard error.message.hasSuffix("(sftp status 4)") else { return error }
    var explained = error
    explained.message += "; the remote file system may be full or read-only (check 'df' on the host)"
    return explained
  }

  /// Prints a warning on stderr (never secrets: host, path and lock holder only).
  static func warn(_ text: String) {
    FileHandle.standardError.write(Data(("keyward: warning: " + text + "\n").utf8))
  }

  private func temporaryName(radix: Int) -> String { String(UInt64.random(in: 0...UInt64.max), radix: radix) }

  /// Without posix-rename: move the old file aside, move the new one in (a short window with no
  /// file), and keep the old one as `FILE.keyward-backup`.
  private func fallbackReplace(_ session: RemoteFiles, _ temporary: String, _ target: String, exists: Bool)
    throws(TransportError)
  {
    if exists {
      let backup = target + ".keyward-backup"
      session.unlink(backup)
      try session.plainRename(target, backup)
      do throws(TransportError) {
        try session.plainRename(temporary, target)
      } catch {
        try? session.plainRename(backup, target)
        throw error
      }
    } else {
      try session.plainRename(temporary, target)
    }
  }
}

extension String.StringInterpolation {
  fileprivate mutating func appendInterpolation(_ value: UInt64, radix: Int) {
    appendLiteral(String(value, radix: radix))
  }
}

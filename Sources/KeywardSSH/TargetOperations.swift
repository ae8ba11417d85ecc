import Foundation
import KeywardCore

/// Reads and writes one target's file over an authenticated session: path resolution against
/// the user's home, symlink refusal, compare-and-swap, atomic replace and read-back.
struct TargetOperations {
  let host: HostSession
  let settings: SSHSettings
  /// Every user this session will be asked about, fetched with one `getent` call.
  var groupUsers: [String] = []

  /// Errors that concern one target only: the session stays usable for the others.
  static func keepsSession(_ error: TransportError) -> Bool {
    ["symlink-refused", "user-unknown", "not-a-file", "invalid-path", "verify-failed"].contains(error.code)
  }

  private var name: String { host.host }
  private var session: SSHSession { host.session }

  // MARK: accounts

  /// Home directory, uid and gid of `user` on the host.
  func account(for user: String) throws(TransportError) -> HostSession.Account {
    if let known = host.accounts[user] { return known }
    if user == host.loginUser {
      let home = try session.realpath(".", step: "read")
      guard let status = try session.attributes(home, follow: true, step: "read") else {
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
    let result = try session.exec("getent passwd " + valid.joined(separator: " "), step: "read")
    if result.status == 127 || (result.status != 0 && result.status != 2) {
      let text = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(
        in: .whitespacesAndNewlines)
      throw TransportError(
        code: "getent-failed", host: name, step: "read",
        message:
          "'getent passwd' failed with status \(result.status) as '\(host.loginUser)': \(text);"
          + " connect_as needs a shell account with getent")
    }
    for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
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
    return ObservedTarget(
      id: request.id, content: content, absolutePath: absolutePath, home: location.account.home,
      uid: location.account.uid, gid: location.account.gid, file: fileStatus?.pathStatus,
      directory: directoryStatus?.pathStatus, homeStatus: homeStatus?.pathStatus,
      loginKeyFingerprint: request.id.user == host.loginUser ? host.loginKeyFingerprint : nil)
  }

  // MARK: write

  func write(_ request: WriteRequest) throws(TransportError) -> WriteOutcome {
    let location = try locate(request.id)
    let account = location.account
    // Files for another user (connect_as) are created owned by that user.
    let owner: (uid: UInt32, gid: UInt32)? =
      request.id.user == host.loginUser ? nil : (account.uid, account.gid)
    var directory = location.directory
    switch try session.attributes(directory, follow: false, step: "write") {
    case nil:
      // No directory, so no file: a plan that saw one is stale, and nothing is created.
      guard request.expectedDigest == ContentDigest.absent else {
        return .stale(currentDigest: ContentDigest.absent)
      }
      try session.makeDirectory(directory, mode: 0o700, owner: owner)
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
    let base = (target as NSString).lastPathComponent
    let temporary = "\(directory)/.\(base).keyward-\(UInt64.random(in: 0...UInt64.max), radix: 16)"
    try session.createExclusive(temporary, content: request.content, mode: request.fileMode, owner: owner)
    do throws(TransportError) {
      // Compare-and-swap: the file is re-read right before the atomic replace; when it changed
      // since the plan, the temporary file goes and nothing else is touched.
      let now = ContentDigest.of(try session.read(target, step: "write"))
      guard now == request.expectedDigest else {
        session.unlink(temporary)
        return .stale(currentDigest: now)
      }
      if try !session.posixRename(temporary, target) {
        try fallbackReplace(temporary, target, exists: now != ContentDigest.absent)
      }
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
    return .written(digest: written)
  }

  private func temporaryName(radix: Int) -> String { String(UInt64.random(in: 0...UInt64.max), radix: radix) }

  /// Without posix-rename: move the old file aside, move the new one in (a short window with no
  /// file), and keep the old one as `FILE.keyward-backup`.
  private func fallbackReplace(_ temporary: String, _ target: String, exists: Bool) throws(TransportError) {
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

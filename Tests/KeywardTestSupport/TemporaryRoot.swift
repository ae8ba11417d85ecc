import Foundation

/// A throwaway root file system for local-transport tests: `etc/passwd` and homes for
/// alice (uid 2001) and bob (2002), removed on deinit.
public final class TemporaryRoot {
  public let path: String

  public init() throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-root-\(UUID().uuidString)")
    path = base.path
    let fm = FileManager.default
    try fm.createDirectory(atPath: path + "/etc", withIntermediateDirectories: true)
    try """
    root:x:0:0:root:/root:/bin/bash
    alice:x:2001:2001::/home/alice:/bin/bash
    bob:x:2002:2002::/home/bob:/bin/bash

    """.write(toFile: path + "/etc/passwd", atomically: true, encoding: .utf8)
    for (user, uid) in [("alice", 2001), ("bob", 2002)] {
      let home = path + "/home/" + user
      try fm.createDirectory(atPath: home, withIntermediateDirectories: true)
      chmod(home, 0o755)
      chown(home, uid_t(uid), gid_t(uid))
    }
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  public func file(_ user: String) -> String { path + "/home/\(user)/.ssh/authorized_keys" }

  /// The uid (and gid) of the users this root has.
  public static let uids = ["alice": uid_t(2001), "bob": uid_t(2002)]

  /// Writes the user's authorized_keys (and `~/.ssh`), owned by that user as on a real system.
  public func put(_ user: String, _ text: String, mode: mode_t = 0o600) throws {
    let dir = path + "/home/\(user)/.ssh"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o700)
    try text.write(toFile: file(user), atomically: false, encoding: .utf8)
    chmod(file(user), mode)
    if let uid = Self.uids[user] {
      chown(dir, uid, uid)
      chown(file(user), uid, uid)
    }
  }

  public func read(_ user: String) -> String? { try? String(contentsOfFile: file(user), encoding: .utf8) }

  /// The file without keyward's record line (`# keyward-record ...`): the lines sshd reads.
  public func readKeys(_ user: String) -> String? {
    read(user).map { text in
      text.split(separator: "\n", omittingEmptySubsequences: false).filter {
        !$0.hasPrefix("# keyward-record ")
      }
      .joined(separator: "\n")
    }
  }

  public func mode(_ path: String) -> UInt32? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return UInt32(st.st_mode & 0o7777)
  }

  public func inode(_ path: String) -> (ino_t, Int)? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return (st.st_ino, st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec)
  }
}

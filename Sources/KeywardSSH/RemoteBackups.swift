import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Backups of a target file kept beside it (`Backup.name(for:at:)`), over SFTP: a hard link
/// (hardlink@openssh.com) when the server offers it, else a copy; the oldest beyond the limit
/// are pruned.
struct RemoteBackups {
  let session: RemoteFiles
  let directory: String
  let file: String

  /// Keeps the current file (with `content`) as a new backup, then prunes beyond `limit`.
  /// Returns the backup's name.
  @discardableResult
  func keep(
    content: [UInt8], mode: UInt32, limit: Int
  ) throws(TransportError) -> String {
    let existing = Set(try session.listDirectory(directory, step: "backup"))
    let base = Backup.name(for: file, at: Int(time(nil)))
    var name = base
    var n = 1
    while existing.contains(name) {
      name = base + ".\(n)"
      n += 1
    }
    let path = directory + "/" + name
    if try !session.hardLink(directory + "/" + file, path) {
      try session.createExclusive(path, content: content, mode: mode)
    }
    let all = Backup.backups(of: file, in: Array(existing) + [name])
    for old in all.dropLast(max(limit, 1)) { session.unlink(directory + "/" + old) }
    return name
  }

  /// The newest backup, when there is one. It is read only when it is a regular file (not a
  /// symlink planted to make keyward copy another file) owned by `owner`.
  func latest(owner: UInt32?) throws(TransportError) -> Backup? {
    let names = try session.listDirectory(directory, step: "read")
    guard let newest = Backup.backups(of: file, in: names).last else { return nil }
    let path = directory + "/" + newest
    guard let status = try session.attributes(path, follow: false, step: "read") else { return nil }
    guard status.pathStatus.isRegularFile, owner.map({ $0 == status.uid }) ?? true else {
      let what =
        status.pathStatus.isSymlink
        ? "a symlink" : status.pathStatus.isRegularFile ? "owned by uid \(status.uid)" : "not a regular file"
      throw TransportError(
        code: "backup-refused", host: session.host, step: "read",
        message:
          "the newest backup '\(path)' is \(what); keyward restores only regular files owned by the user:"
          + " remove it and run again")
    }
    guard let content = try session.read(path, step: "read") else { return nil }
    return Backup(name: newest, content: content)
  }
}

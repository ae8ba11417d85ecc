import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The old file kept (a backup, which is also the restore point) and the result re-observed.
extension SafeReplace.Run {
  /// Keeps the old file as a backup (or, with no backups, a hidden link), which is also the way
  /// back: a hard link keeps the old inode itself; a copy is made where links are refused.
  mutating func keepOld(_ content: [UInt8], status: FileStatus, names: [String], _ place: TargetLocation)
    throws(TransportError) -> (path: String, isBackup: Bool, isLink: Bool)
  {
    let isBackup = request.backupLimit > 0
    var name: String
    if isBackup {
      let taken = Set(names)
      let base = Backup.name(for: place.name, at: Int(config.now()))
      name = base
      var n = 1
      while taken.contains(name) {
        name = base + ".\(n)"
        n += 1
      }
    } else {
      name = "." + place.name + ".keyward-restore-" + Self.random()
    }
    let path = place.directory + "/" + name
    do {
      try fs.link(place.path, to: path)
      return (path, isBackup, true)
    } catch  where [.unsupported, .permissionDenied, .failed].contains(error.kind) {
      // A copy: hard links not offered, or refused (protected_hardlinks on a root-owned file).
    } catch {
      throw target.error(error, step: .backup)
    }
    let handle = try io(.backup) { () throws(FileSystemError) in
      try fs.createExclusive(path, mode: 0o600)
    }
    restorePoint = (path, isBackup, false)  // removed again if the copy fails
    defer { fs.close(handle) }
    try io(.backup) { () throws(FileSystemError) in try fs.write(handle, offset: 0, bytes: content) }
    let made = try io(.backup) { () throws(FileSystemError) in try fs.status(of: handle) }
    try io(.backup) { () throws(FileSystemError) in
      try fs.setAttributes(of: handle, mode: status.mode, owner: nil)
    }
    if made.uid != status.uid || made.gid != status.gid {
      do {
        try fs.setAttributes(of: handle, mode: nil, owner: FileOwner(uid: status.uid, gid: status.gid))
      } catch {
        warnings.append(
          "the backup '\(path)' is a copy owned by \(made.uid):\(made.gid), not \(status.uid):\(status.gid)"
            + " as the old file was (\(error.detail))")
      }
    }
    try io(.backup) { () throws(FileSystemError) in try fs.sync(handle) }
    return (path, isBackup, false)
  }

  /// The file and directory must now be exactly what the plan said.
  func reobserve(_ place: TargetLocation, directoryMode: UInt32) throws(TransportError) {
    let owner = target.account
    let file = try io(.verify) { () throws(FileSystemError) in try fs.status(place.path, follow: false) }
    guard let file, file.kind == .regular, file.mode == request.fileMode, file.uid == owner.uid,
      file.gid == owner.gid
    else {
      throw target.error(
        .verifyFailed, .verify,
        "'\(place.path)' is not a regular file with mode \(FileAction.octal(request.fileMode)) owned by"
          + " '\(owner.name)' after the write")
    }
    let directory = try io(.verify) { () throws(FileSystemError) in
      try fs.status(place.directory, follow: false)
    }
    guard let directory, directory.kind == .directory, directory.mode == directoryMode,
      config.policy.accepts(owner: directory.uid, for: owner)
    else {
      throw target.error(
        .verifyFailed, .verify,
        "'\(place.directory)' is not a directory with mode \(FileAction.octal(directoryMode)) after the write"
      )
    }
  }
}

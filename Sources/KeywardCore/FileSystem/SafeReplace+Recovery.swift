import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Undoing a failed write, releasing the lock, and cleaning up what runs leave behind.
extension SafeReplace.Run {
  /// Puts the old state back after a failure past the point of no return; nil when it worked,
  /// else the error to report (naming `cause`).
  mutating func restore(after cause: TransportError) -> TransportError? {
    guard let place = location else { return nil }
    let fileReplaced = replaced
    do throws(TransportError) {
      if replaced {
        if old != nil {
          guard let point = restorePoint else {
            throw target.error(.rollbackFailed, .rollback, "no copy of the previous file was kept")
          }
          try io(.rollback) { () throws(FileSystemError) in try fs.rename(point.path, to: place.path) }
          restorePoint = nil
          if !point.isLink {
            warnings.append(
              "'\(place.path)' was restored from a copy: same content and mode, owner as the copy's")
          }
        } else {
          try io(.rollback) { () throws(FileSystemError) in try fs.unlink(place.path) }
        }
        replaced = false
      }
      if let mode = oldDirectoryMode {
        try io(.rollback) { () throws(FileSystemError) in
          try fs.setAttributes(place.directory, mode: mode, owner: nil)
        }
        oldDirectoryMode = nil
      }
      try io(.rollback) { () throws(FileSystemError) in try fs.syncDirectory(place.directory) }
      // The file itself was not touched when the rename never happened (someone else's edit
      // may be there now: it stays).
      guard fileReplaced else { return nil }
      let now = try target.read(place.path, step: .rollback)
      guard ContentDigest.of(now?.content) == oldDigest else {
        throw target.error(.rollbackFailed, .rollback, "it does not read back as the previous file")
      }
      return nil
    } catch {
      let backup =
        restorePoint.map { " the previous file is kept as '\($0.path)';" } ?? ""
      return target.error(
        .rollbackFailed, .rollback,
        "\(cause.message); putting the previous file back also failed (\(error.message));\(backup)"
          + " restore it with 'keyward rollback \(request.id.user)@\(request.id.host)' or by hand")
    }
  }

  /// Removes what this run leaves behind: its temp file, the hidden restore link, a backup that
  /// was not needed, the lock, and a directory it created for a write that did not happen.
  mutating func finish(succeeded: Bool) {
    if let temp { try? fs.unlink(temp) }
    if let point = restorePoint, !point.isBackup || (!succeeded && !replaced) {
      try? fs.unlink(point.path)
    }
    lock?.release(fs)
    if createdDirectory, !succeeded, !replaced, let place = location {
      try? fs.removeDirectory(place.directory)
    }
  }

  /// Removes temp files and restore links an interrupted earlier run left (the lock is held).
  func removeLeftovers(_ names: [String], _ place: TargetLocation) {
    let ours = "." + place.name + ".keyward-"
    let older = ".keyward-tmp." + place.name + "."
    for name in names where name.hasPrefix(ours) || name.hasPrefix(older) {
      try? fs.unlink(place.directory + "/" + name)
    }
  }

  /// Prunes the oldest backups beyond the limit (after the rename, never before).
  mutating func prune(_ place: TargetLocation) {
    guard request.backupLimit > 0 else { return }
    do {
      let names = try fs.list(place.directory)
      for name in Backup.backups(of: place.name, in: names).dropLast(request.backupLimit) {
        try fs.unlink(place.directory + "/" + name)
      }
    } catch {
      warnings.append("could not prune old backups beside '\(place.path)': \(error.description)")
    }
  }
}

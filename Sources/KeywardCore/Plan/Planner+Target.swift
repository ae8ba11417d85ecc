import AuthorizedKeys
import Foundation

/// Planning one target, in four phases: where (who acts, and the file system around the
/// file), the lines (merging what is there with what the manifests grant), the new file (and
/// the changes derived from its bytes), and the guards on those changes.
extension Planner {
  /// Plans one target whose state was read. `keyNames` names every key the manifests define
  /// (`DesiredState.keyNames`), so that a key no longer granted is named as such.
  public func plan(
    _ target: DesiredTarget, observed: ObservedTarget, revoked: [String: Revocation],
    protected: Set<String>, keyNames: [String: String] = [:]
  ) -> TargetPlan {
    var result = TargetPlan(
      id: target.id, mode: target.mode, status: .unchanged, observedDigest: observed.digest,
      follow: target.follow)
    result.allowOutsideHome = target.allowOutsideHome
    result.actAsRoot = target.actAsRoot
    result.runsAsRoot = observed.actsAsRoot
    let snapshot = ObservedSnapshot(observed)
    result.observed = snapshot
    result.warnings = observed.warnings

    var problems = placementProblems(target, observed)
    let (fileMode, directoryMode) = checkFileSystem(
      target, observed, warnings: &result.warnings, problems: &problems)
    if !problems.isEmpty {
      result.status = .error
      result.error = problems.joined(separator: "; ")
      return result
    }
    result.fileMode = fileMode
    result.directoryMode = directoryMode

    let file = AuthorizedKeysFile(bytes: observed.content ?? [])
    let merged = mergeLines(
      target, observed: observed, file: file, revoked: revoked, protected: protected, keyNames: keyNames,
      warnings: &result.warnings)

    guard let content = newFile(target, observed: observed, merged: merged) else {
      return result  // nothing to create
    }
    let diff = AuthorizedKeysDiff(old: observed.content, new: content)
    result.changes = diff.annotated(with: merged.labels)
    result.lineChanges = diff.lineChanges
    result.history = labelOrigins(
      of: &result.changes, file: observed.content == nil ? nil : file, added: merged.added)

    problems = guardProblems(target, observed: observed, changes: result.changes, merged: merged)
    if !problems.isEmpty {
      result.status = .error
      result.error = problems.joined(separator: "; ")
      result.changes = []
      result.lineChanges = []
      return result
    }

    let writing = observed.content != content || observed.content == nil
    let modeActions = snapshot.fileActions(fileMode: fileMode, directoryMode: directoryMode, writing: false)
    guard writing || !modeActions.isEmpty else {
      result.directoryMode = nil
      return result
    }
    result.fileActions = snapshot.fileActions(fileMode: fileMode, directoryMode: directoryMode, writing: true)
    result.status = .changes
    result.newContent = content
    return result
  }

  // MARK: - Where: who acts, and the file system around the file

  /// Who acts, and where: acting as root only where the manifest allows it, and a path the
  /// confinement rules accept.
  func placementProblems(_ target: DesiredTarget, _ observed: ObservedTarget) -> [String] {
    var problems: [String] = []
    if observed.actsAsRoot && !target.actAsRoot {
      problems.append(
        "this host cannot act as '\(target.id.user)', and keyward acts as root only where the manifest"
          + " says 'act_as_root: true' for the host")
    }
    if let problem = PathConfinement.problem(
      inAbsolutePath: observed.absolutePath, home: observed.home, allowOutsideHome: target.allowOutsideHome)
    {
      problems.append(problem)
    }
    return problems
  }

  /// The home, the directory and the file: what refuses a write (`problems`), what only
  /// warns, and the modes the file and its directory get (nil: the directory is left as is).
  func checkFileSystem(
    _ target: DesiredTarget, _ observed: ObservedTarget, warnings: inout [String], problems: inout [String]
  ) -> (file: UInt32, directory: UInt32?) {
    checkHome(observed, warnings: &warnings, problems: &problems)
    var directoryMode: UInt32?
    var fileMode = PlanModes.file
    if let dir = observed.directory {
      if dir.isSymlink && !target.follow {
        problems.append(
          "the directory of \(observed.absolutePath) is a symlink; keyward does not write through it"
            + " unless the access rule says 'follow: true'")
      } else if !dir.isDirectory && !dir.isSymlink {
        problems.append("the directory of \(observed.absolutePath) is not a directory")
      } else if dir.uid != observed.uid && dir.uid != 0 {
        problems.append(
          "the directory of \(observed.absolutePath) belongs to uid \(dir.uid), not to '\(target.id.user)'"
            + " (uid \(observed.uid)) or root; keyward does not write into another user's directory")
      } else if dir.mode & 0o022 != 0 {
        directoryMode = PlanModes.directory
      }
    } else {
      directoryMode = PlanModes.directory
    }
    if let file = observed.file {
      if file.isSymlink && !target.follow {
        problems.append(
          "\(observed.absolutePath) is a symlink; keyward does not write through it"
            + " unless the access rule says 'follow: true'")
      } else if !file.isRegularFile && !file.isSymlink {
        problems.append("\(observed.absolutePath) is not a regular file")
      } else if !file.isSymlink && file.uid != observed.uid && file.uid != 0 {
        problems.append(
          "\(observed.absolutePath) belongs to uid \(file.uid), not to '\(target.id.user)'"
            + " (uid \(observed.uid)) or root; keyward does not replace another user's file")
      } else if PlanModes.isAllowed(fileMode: file.mode & 0o7777) {
        fileMode = file.mode & 0o7777
      }
    }
    return (fileMode, directoryMode)
  }

  private func checkHome(_ observed: ObservedTarget, warnings: inout [String], problems: inout [String]) {
    guard let home = observed.homeStatus else {
      problems.append(
        "home directory '\(observed.home)' of '\(observed.id.user)' does not exist; create it on the host"
          + " (keyward does not create home directories)")
      return
    }
    if home.mode & 0o002 != 0 || (home.uid != observed.uid && home.uid != 0) {
      warnings.append(
        "home directory \(observed.home) has mode \(FileAction.octal(home.mode)) and owner uid \(home.uid):"
          + " sshd's StrictModes refuses every key of this account; fix it on the host"
          + " (keyward does not change home directories)")
    } else if home.mode & 0o020 != 0 {
      warnings.append(
        "home directory \(observed.home) is group-writable (\(FileAction.octal(home.mode))):"
          + " upstream sshd's StrictModes refuses that unless the group is private to the user")
    }
  }

  // MARK: - The new file

  /// The bytes of the new file: the merged lines and a fresh write record, or the observed
  /// bytes exactly when no key line changes; nil when there is nothing to create.
  func newFile(_ target: DesiredTarget, observed: ObservedTarget, merged: MergedLines) -> [UInt8]? {
    var content: [UInt8] = []
    for line in merged.lines {
      content += line
      content.append(0x0A)
    }
    content +=
      WriteRecord(
        body: content, keyLines: merged.lines.filter(WriteRecord.isKeyLike), revision: options.revision
      )
      .rendered
    if observed.content == nil && merged.keptKeys == 0 && target.entries.isEmpty {
      return nil
    }
    if let existing = observed.content, merged.labels.isEmpty {
      return existing  // no key line changes: keep the bytes exactly
    }
    return content
  }

  // MARK: - Guards, on the derived changes

  /// Refusals of the derived changes: removing the key this run logged in with, or every key
  /// of the account.
  func guardProblems(
    _ target: DesiredTarget, observed: ObservedTarget, changes: [KeyChange], merged: MergedLines
  ) -> [String] {
    var problems: [String] = []
    let loginKeyAtRisk = loginKeyIsGuarded(target, observed)
    for change in changes where change.action == .remove {
      if !options.allowSelfRemoval, loginKeyAtRisk, let login = observed.loginKeyFingerprint,
        login == change.fingerprint
      {
        let account = observed.loginUser ?? target.id.user
        problems.append(
          "refusing to remove \(Self.label(change)): keyward logged in as '\(account)' with it and"
            + " sshd reads this file for that account; pass --allow-self-removal if that is really meant")
      }
    }
    if merged.observedKeys > 0 && merged.keptKeys == 0 && !options.allowEmpty {
      problems.append(
        "refusing to remove every key from this account (\(merged.observedKeys) now); pass --allow-empty if that is really meant"
      )
    }
    return problems
  }
}

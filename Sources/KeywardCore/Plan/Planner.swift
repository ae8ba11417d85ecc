import AuthorizedKeys
import Foundation

/// Turns (desired state, observed state) into a plan. A pure function: no I/O, no clock
/// (`PlannerOptions.now`), same inputs give the same plan.
public struct Planner: Sendable {
  public var options: PlannerOptions

  public init(options: PlannerOptions = PlannerOptions()) {
    self.options = options
  }

  /// Plans every desired target against what was observed (or the error fetching it).
  public func plan(
    _ desired: DesiredState, observed: [TargetID: Result<ObservedTarget, TransportError>]
  ) -> Plan {
    let revoked = Dictionary(desired.revoked.map { ($0.fingerprint, $0) }, uniquingKeysWith: { a, _ in a })
    let targets = desired.targets.map { target -> TargetPlan in
      switch observed[target.id] {
      case .success(let state):
        return plan(
          target, observed: state, revoked: revoked, protected: desired.protectedFingerprints,
          keyNames: desired.keyNames)
      case .failure(let error):
        return TargetPlan(
          id: target.id, mode: target.mode, status: .error, observedDigest: nil,
          error: error.description, follow: target.follow)
      case nil:
        return TargetPlan(
          id: target.id, mode: target.mode, status: .error, observedDigest: nil,
          error: "target was not fetched", follow: target.follow)
      }
    }
    var whole = Plan(targets: Self.refuseSharedFiles(targets, observed: observed), hosts: desired.hosts)
    let limit = options.maxRemovals ?? desired.maxRemovals
    let removals = whole.summary.remove
    if let limit, removals > limit {
      let names = whole.targets.filter { $0.count(.remove) > 0 }.map(\.id.description)
      whole.errors.append(
        "plan removes \(removals) keys, more than the limit of \(limit), on \(names.count) targets: "
          + names.joined(separator: ", ") + "; raise --max-removals on purpose to apply it")
    }
    return whole
  }

  /// Two targets that resolve to one file on a host (alice's rule naming bob's file, say)
  /// would each change the other account's access: both are refused.
  static func refuseSharedFiles(
    _ targets: [TargetPlan], observed: [TargetID: Result<ObservedTarget, TransportError>]
  ) -> [TargetPlan] {
    var byFile: [String: [Int]] = [:]
    for (index, target) in targets.enumerated() {
      guard case .success(let state)? = observed[target.id] else { continue }
      byFile[target.id.host + "\u{0}" + state.absolutePath, default: []].append(index)
    }
    var result = targets
    for indices in byFile.values where indices.count > 1 {
      let names = indices.map { targets[$0].id.description }
      for index in indices {
        let others = names.filter { $0 != targets[index].id.description }
        result[index].status = .error
        result[index].changes = []
        result[index].lineChanges = []
        result[index].fileActions = []
        result[index].newContent = nil
        result[index].error =
          "this file is also the file of \(others.map { "'\($0)'" }.joined(separator: ", ")); a write for"
          + " one account would change another's access, so keyward writes neither"
      }
    }
    return result
  }

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
    var problems: [String] = []

    // Who acts, and where.
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

    // The file system around the file.
    checkHome(observed, into: &result, problems: &problems)
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
    if !problems.isEmpty {
      result.status = .error
      result.error = problems.joined(separator: "; ")
      return result
    }
    result.fileMode = fileMode
    result.directoryMode = directoryMode

    // The lines. `labels` say why each line changes; the changes themselves are derived from
    // the bytes at the end, so the plan shows exactly what the new file is.
    let file = AuthorizedKeysFile(bytes: observed.content ?? [])
    var lines: [[UInt8]] = []
    var labels: [KeyChange] = []
    var pending = target.entries  // not yet matched, in manifest order
    let now = options.now
    var observedKeys = 0
    var keptKeys = 0
    var added: [String: [UInt8]] = [:]  // fingerprint -> the line an add writes

    /// Removes the line, unless the key is protected: then it stays, with a warning.
    func remove(
      _ entry: KeyEntry, line: AuthorizedKeysLine, number: Int, name: String?, reason: String,
      origin: ChangeOrigin? = nil
    ) {
      if protected.contains(entry.key.fingerprint) {
        var why = reason
        if reason == Self.noLongerGranted,
          OriginClassifier(file: observed.content == nil ? nil : file).origin(of: .remove, line: line.raw)
            != .intent
        {
          why = "defined in the manifests but not granted here by any rule"  // keyward never wrote it here
        }
        result.warnings.append(
          "protected key \(name.map { "'\($0)' " } ?? "")(\(entry.key.fingerprint)) on line \(number) is kept:"
            + " protected keys are never removed (it would have been: \(why))")
        keptKeys += 1
        lines.append(line.raw)
        return
      }
      var label = KeyChange(
        action: .remove, fingerprint: entry.key.fingerprint, type: entry.key.type, keyName: name,
        reason: reason, line: number)
      label.origin = origin
      labels.append(label)
    }

    for (index, line) in file.lines.enumerated() {
      let lineNumber = index + 1
      guard line.kind == .key, let entry = line.entry else {
        if WriteRecord.isRecord(line.raw) { continue }  // a fresh record is written below
        if line.kind == .invalid {
          result.warnings.append(
            "line \(lineNumber) is not a valid key line and is kept as it is: \(line.error ?? "invalid")")
        }
        lines.append(line.raw)
        continue
      }
      observedKeys += 1
      let fingerprint = entry.key.fingerprint
      if let revocation = revoked[fingerprint] {
        remove(
          entry, line: line, number: lineNumber, name: revocation.keyName ?? name(of: entry.key, in: target),
          reason: "revoked: \(revocation.reason)")
        continue
      }
      if let match = pending.firstIndex(where: { $0.key == entry.key }) {
        let wanted = pending.remove(at: match)
        if let expires = wanted.expires, expires <= now {
          remove(
            entry, line: line, number: lineNumber, name: wanted.keyName,
            reason: "expired on \(Self.day(expires))")
          continue
        }
        flagExpiry(wanted, into: &result)
        keptKeys += 1
        let comment = wanted.comment ?? entry.comment
        if Self.sameOptions(entry.options, wanted.options) && comment == entry.comment {
          lines.append(line.raw)
        } else {
          let updated = KeyEntry(options: wanted.options, key: entry.key, comment: comment)
          lines.append(Array(updated.rendered().utf8))
          labels.append(
            KeyChange(
              action: .update, fingerprint: fingerprint, type: entry.key.type, keyName: wanted.keyName,
              reason: "granted by \(wanted.rule)", line: lineNumber))
        }
        continue
      }
      let declared = target.entries.contains { $0.key == entry.key }
      if declared {
        // A second line for a key the manifest declares once: sshd would use the first
        // line that passes, so a stray duplicate can defeat the declared options.
        remove(
          entry, line: line, number: lineNumber, name: name(of: entry.key, in: target),
          reason: "duplicate line for a declared key", origin: .drift)  // keyward never writes a key twice
        continue
      }
      if target.mode == .exclusive {
        if let known = keyNames[fingerprint] {
          remove(entry, line: line, number: lineNumber, name: known, reason: Self.noLongerGranted)
        } else {
          remove(
            entry, line: line, number: lineNumber, name: nil, reason: "not in the manifests (exclusive mode)")
        }
        continue
      }
      keptKeys += 1
      lines.append(line.raw)
    }

    for wanted in pending {
      if let expires = wanted.expires, expires <= now { continue }
      if revoked[wanted.key.fingerprint] != nil { continue }  // the manifest refuses this; never add it
      flagExpiry(wanted, into: &result)
      let comment = wanted.comment ?? wanted.keyName
      let entry = KeyEntry(options: wanted.options, key: wanted.key, comment: comment)
      let rendered = Array(entry.rendered().utf8)
      lines.append(rendered)
      added[wanted.key.fingerprint] = rendered
      keptKeys += 1
      labels.append(
        KeyChange(
          action: .add, fingerprint: wanted.key.fingerprint, type: wanted.key.type,
          keyName: wanted.keyName, reason: "granted by \(wanted.rule)"))
    }

    // The new file, and the changes derived from its bytes.
    var content: [UInt8] = []
    for line in lines {
      content += line
      content.append(0x0A)
    }
    content +=
      WriteRecord(body: content, keyLines: lines.filter(WriteRecord.isKeyLike), revision: options.revision)
      .rendered
    if observed.content == nil && keptKeys == 0 && target.entries.isEmpty {
      return result  // nothing to create
    }
    if let existing = observed.content, labels.isEmpty {
      content = existing  // no key line changes: keep the bytes exactly
    }
    let diff = AuthorizedKeysDiff(old: observed.content, new: content)
    result.changes = diff.annotated(with: labels)
    result.lineChanges = diff.lineChanges
    result.history = labelOrigins(
      of: &result.changes, file: observed.content == nil ? nil : file, added: added)

    // Guards, on the derived changes.
    let loginKeyAtRisk = loginKeyIsGuarded(target, observed)
    for change in result.changes where change.action == .remove {
      if !options.allowSelfRemoval, loginKeyAtRisk, let login = observed.loginKeyFingerprint,
        login == change.fingerprint
      {
        let account = observed.loginUser ?? target.id.user
        problems.append(
          "refusing to remove \(Self.label(change)): keyward logged in as '\(account)' with it and"
            + " sshd reads this file for that account; pass --allow-self-removal if that is really meant")
      }
    }
    if observedKeys > 0 && keptKeys == 0 && !options.allowEmpty {
      problems.append(
        "refusing to remove every key from this account (\(observedKeys) now); pass --allow-empty if that is really meant"
      )
    }
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

  /// Whether the key this run logged in with must be kept in this target's file: the file is
  /// the login account's own target, or lies in the login account's home (sshd reads it for
  /// that account), or the transport did not say which account it logged in as.
  func loginKeyIsGuarded(_ target: DesiredTarget, _ observed: ObservedTarget) -> Bool {
    guard observed.loginKeyFingerprint != nil else { return false }
    guard let user = observed.loginUser else { return true }
    if user == target.id.user { return true }
    if let home = observed.loginHome, PathConfinement.isInside(observed.absolutePath, home: home) {
      return true
    }
    return false
  }

  // MARK: - Helpers

  private func checkHome(_ observed: ObservedTarget, into result: inout TargetPlan, problems: inout [String])
  {
    guard let home = observed.homeStatus else {
      problems.append(
        "home directory '\(observed.home)' of '\(observed.id.user)' does not exist; create it on the host"
          + " (keyward does not create home directories)")
      return
    }
    if home.mode & 0o002 != 0 || (home.uid != observed.uid && home.uid != 0) {
      result.warnings.append(
        "home directory \(observed.home) has mode \(FileAction.octal(home.mode)) and owner uid \(home.uid):"
          + " sshd's StrictModes refuses every key of this account; fix it on the host"
          + " (keyward does not change home directories)")
    } else if home.mode & 0o020 != 0 {
      result.warnings.append(
        "home directory \(observed.home) is group-writable (\(FileAction.octal(home.mode))):"
          + " upstream sshd's StrictModes refuses that unless the group is private to the user")
    }
  }

  private func flagExpiry(_ entry: DesiredEntry, into result: inout TargetPlan) {
    guard let expires = entry.expires, expires > options.now,
      expires.timeIntervalSince(options.now) <= options.expiryWarning
    else { return }
    result.warnings.append("key '\(entry.keyName)' expires on \(Self.day(expires))")
  }

  private func name(of key: PublicKey, in target: DesiredTarget) -> String? {
    target.entries.first { $0.key == key }?.keyName
  }

  static func sameOptions(_ a: [KeyOption], _ b: [KeyOption]) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { $0.name.lowercased() == $1.name.lowercased() && $0.value == $1.value }
  }

  static func label(_ change: KeyChange) -> String {
    if let name = change.keyName { return "'\(name)' (\(change.fingerprint))" }
    return change.fingerprint
  }

  /// `YYYY-MM-DD` in UTC.
  static func day(_ date: Date) -> String {
    let seconds = Int(date.timeIntervalSince1970)
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    return String(
      format: "%04d-%02d-%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
  }
}

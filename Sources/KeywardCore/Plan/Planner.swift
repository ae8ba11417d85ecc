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
    var whole = Plan(targets: targets, hosts: desired.hosts)
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

  /// Plans one target whose state was read. `keyNames` names every key the manifests define
  /// (`DesiredState.keyNames`), so that a key no longer granted is named as such.
  public func plan(
    _ target: DesiredTarget, observed: ObservedTarget, revoked: [String: Revocation],
    protected: Set<String>, keyNames: [String: String] = [:]
  ) -> TargetPlan {
    var result = TargetPlan(
      id: target.id, mode: target.mode, status: .unchanged, observedDigest: observed.digest,
      follow: target.follow)
    result.warnings = observed.warnings  // what the fetch skipped (a planted backup)
    var problems: [String] = []

    // The file system around the file.
    checkHome(observed, into: &result)
    if let dir = observed.directory {
      if dir.isSymlink && !target.follow {
        problems.append(
          "the directory of \(observed.absolutePath) is a symlink; keyward does not write through it"
            + " unless the access rule says 'follow: true'")
      } else if !dir.isDirectory && !dir.isSymlink {
        problems.append("the directory of \(observed.absolutePath) is not a directory")
      } else if dir.mode & 0o022 != 0 {
        result.fileActions.append(.fixDirectoryMode(from: dir.mode, to: 0o700))
        result.directoryMode = 0o700
      }
    } else {
      result.fileActions.append(.createDirectory(mode: 0o700))
      result.directoryMode = 0o700
    }
    if let file = observed.file {
      if file.isSymlink && !target.follow {
        problems.append(
          "\(observed.absolutePath) is a symlink; keyward does not write through it"
            + " unless the access rule says 'follow: true'")
      } else if !file.isRegularFile && !file.isSymlink {
        problems.append("\(observed.absolutePath) is not a regular file")
      } else if file.mode & 0o077 != 0 {
        result.fileActions.append(.fixFileMode(from: file.mode, to: 0o600))
      } else {
        result.fileMode = file.mode & 0o7777
      }
    }
    if !problems.isEmpty {
      result.status = .error
      result.error = problems.joined(separator: "; ")
      result.fileActions = []
      return result
    }

    // The lines.
    let file = AuthorizedKeysFile(bytes: observed.content ?? [])
    var lines: [[UInt8]] = []
    var pending = target.entries  // not yet matched, in manifest order
    let now = options.now
    var observedKeys = 0
    var keptKeys = 0
    var added: [String: [UInt8]] = [:]  // fingerprint -> the line an add writes

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
        result.changes.append(
          removal(
            entry, line: lineNumber, name: revocation.keyName ?? name(of: entry.key, in: target),
            reason: "revoked: \(revocation.reason)"))
        continue
      }
      if let match = pending.firstIndex(where: { $0.key == entry.key }) {
        let wanted = pending.remove(at: match)
        if let expires = wanted.expires, expires <= now {
          result.changes.append(
            removal(entry, line: lineNumber, name: wanted.keyName, reason: "expired on \(Self.day(expires))"))
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
          result.changes.append(
            KeyChange(
              action: .update, fingerprint: fingerprint, type: entry.key.type, keyName: wanted.keyName,
              reason: "granted by \(wanted.rule)", line: lineNumber,
              oldOptions: KeyOptions.render(entry.options),
              newOptions: KeyOptions.render(wanted.options), oldComment: entry.comment,
              newComment: comment))
        }
        continue
      }
      let declared = target.entries.contains { $0.key == entry.key }
      if declared {
        // A second line for a key the manifest declares once: sshd would use the first
        // line that passes, so a stray duplicate can defeat the declared options.
        var change = removal(
          entry, line: lineNumber, name: name(of: entry.key, in: target),
          reason: "duplicate line for a declared key")
        change.origin = .drift  // keyward never writes a key twice
        result.changes.append(change)
        continue
      }
      if target.mode == .exclusive {
        if let known = keyNames[fingerprint] {
          result.changes.append(
            removal(entry, line: lineNumber, name: known, reason: Self.noLongerGranted))
        } else {
          result.changes.append(
            removal(entry, line: lineNumber, name: nil, reason: "not in the manifests (exclusive mode)"))
        }
        continue
      }
      keptKeys += 1
      lines.append(line.raw)
    }

    for wanted in pending {
      if let expires = wanted.expires, expires <= now { continue }
      flagExpiry(wanted, into: &result)
      let comment = wanted.comment ?? wanted.keyName
      let entry = KeyEntry(options: wanted.options, key: wanted.key, comment: comment)
      let rendered = Array(entry.rendered().utf8)
      lines.append(rendered)
      added[wanted.key.fingerprint] = rendered
      keptKeys += 1
      result.changes.append(
        KeyChange(
          action: .add, fingerprint: wanted.key.fingerprint, type: wanted.key.type,
          keyName: wanted.keyName, reason: "granted by \(wanted.rule)",
          newOptions: wanted.options.isEmpty ? nil : KeyOptions.render(wanted.options),
          newComment: comment))
    }

    result.history = labelOrigins(
      of: &result.changes, file: observed.content == nil ? nil : file, added: added)

    // Guards.
    for change in result.changes where change.action == .remove {
      if protected.contains(change.fingerprint) {
        problems.append(
          "refusing to remove protected key \(Self.label(change)) (\(change.reason))")
      }
      if !options.allowSelfRemoval, let login = observed.loginKeyFingerprint, login == change.fingerprint {
        problems.append(
          "refusing to remove \(Self.label(change)): keyward logged in to this account with it;"
            + " pass --allow-self-removal if that is really meant")
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
      return result
    }

    // The new file.
    var content: [UInt8] = []
    for line in lines {
      content += line
      content.append(0x0A)
    }
    content +=
      WriteRecord(body: content, keyLines: lines.filter(WriteRecord.isKeyLike), revision: options.revision)
      .rendered
    if observed.content == nil {
      if keptKeys == 0 && target.entries.isEmpty {
        result.fileActions.removeAll()
        result.directoryMode = nil
        return result  // nothing to create
      }
      result.fileActions.append(.createFile(mode: 0o600))
    }
    if let existing = observed.content, result.changes.isEmpty {
      // No key line changes: keep the bytes exactly; write only to fix modes.
      guard !result.fileActions.isEmpty else { return result }
      result.status = .changes
      result.newContent = existing
      return result
    }
    result.status = .changes
    result.newContent = content
    return result
  }

  // MARK: - Helpers

  private func checkHome(_ observed: ObservedTarget, into result: inout TargetPlan) {
    guard let home = observed.homeStatus else { return }
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

  private func removal(_ entry: KeyEntry, line: Int, name: String?, reason: String) -> KeyChange {
    KeyChange(
      action: .remove, fingerprint: entry.key.fingerprint, type: entry.key.type, keyName: name,
      reason: reason, line: line,
      oldOptions: entry.options.isEmpty ? nil : KeyOptions.render(entry.options),
      oldComment: entry.comment)
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

import AuthorizedKeys

/// The difference between two authorized_keys files, derived from their bytes alone.
///
/// This is what plans show and what `show`/`apply PLANFILE` check: the change list comes from
/// the observed old bytes and the new bytes apply will write, never from a stored list. Keys are
/// compared by material (the n-th old line of a key pairs with its n-th new line); a paired line
/// whose bytes differ is an update; unpaired old keys are removed, unpaired new keys added;
/// lines that are not keys are compared by their bytes.
///
/// The new file is *canonical* when it is exactly what the changes make of the old file: old
/// lines in their order (kept, updated in place, or dropped), then the added lines in the new
/// file's order, each ending in `\n` — or the old bytes unchanged. keyward's planner only makes
/// canonical files; a non-canonical one (lines moved, line endings changed) cannot be shown as a
/// list of changes and a plan file holding one is refused.
///
/// keyward's own bookkeeping (`WriteRecord`) is not a change to show: record lines in the old
/// file are skipped, and the new file may end with one record line, which is accepted only when
/// it parses and its digest is that of the new file's other lines (as keyward writes it);
/// anything else that looks like a record is an ordinary line and shown as one.
public struct AuthorizedKeysDiff: Hashable, Sendable {
  /// Key line changes: removals and updates in old-file order, then additions in new-file order.
  /// `keyName` is nil and `reason` empty: labels come from the plan (`annotated(with:)`).
  public var changes: [KeyChange]
  /// Non-key lines removed (old-file order) and added (new-file order).
  public var lineChanges: [LineChange]
  /// The new file is what `changes` and `lineChanges` make of the old one.
  public var isCanonical: Bool

  /// Diffs `old` (nil: no file) against `new`.
  public init(old: [UInt8]?, new: [UInt8]) {
    if let old, old == new {
      changes = []
      lineChanges = []
      isCanonical = true
      return
    }
    let oldLines = AuthorizedKeysFile(bytes: old ?? []).lines
    var newLines = AuthorizedKeysFile(bytes: new).lines
    let record = Self.trailingRecord(newLines)
    if record != nil { newLines.removeLast() }

    // Pair key lines by material, in order; other lines by their bytes, in order.
    var newKeys: [PublicKey: [Int]] = [:]
    var newOthers: [[UInt8]: [Int]] = [:]
    for (index, line) in newLines.enumerated() {
      if line.kind == .key, let entry = line.entry {
        newKeys[entry.key, default: []].append(index)
      } else {
        newOthers[line.raw, default: []].append(index)
      }
    }
    var pairedNew = [Bool](repeating: false, count: newLines.count)
    var oldPartner = [Int?](repeating: nil, count: oldLines.count)
    var keyCursor: [PublicKey: Int] = [:]
    var otherCursor: [[UInt8]: Int] = [:]
    for (index, line) in oldLines.enumerated() {
      if WriteRecord.isRecord(line.raw) { continue }  // bookkeeping, replaced by every write
      if line.kind == .key, let entry = line.entry {
        let next = keyCursor[entry.key, default: 0]
        if let candidates = newKeys[entry.key], next < candidates.count {
          oldPartner[index] = candidates[next]
          pairedNew[candidates[next]] = true
          keyCursor[entry.key] = next + 1
        }
      } else {
        let next = otherCursor[line.raw, default: 0]
        if let candidates = newOthers[line.raw], next < candidates.count {
          oldPartner[index] = candidates[next]
          pairedNew[candidates[next]] = true
          otherCursor[line.raw] = next + 1
        }
      }
    }

    var changes: [KeyChange] = []
    var lineChanges: [LineChange] = []
    var rebuilt: [UInt8] = []
    rebuilt.reserveCapacity(new.count)
    for (index, line) in oldLines.enumerated() where !WriteRecord.isRecord(line.raw) {
      let partner = oldPartner[index]
      if let partner {
        rebuilt += newLines[partner].raw
        rebuilt.append(0x0A)
      }
      if line.kind == .key, let entry = line.entry {
        if let partner {
          let newLine = newLines[partner]
          if newLine.raw != line.raw, let newEntry = newLine.entry {
            changes.append(Self.update(entry, to: newEntry, line: index + 1))
          }
        } else {
          changes.append(Self.removal(entry, line: index + 1))
        }
      } else if partner == nil {
        lineChanges.append(
          LineChange(action: .remove, line: index + 1, kind: line.kind, text: LineChange.printable(line.raw)))
      }
    }
    for (index, line) in newLines.enumerated() where !pairedNew[index] {
      rebuilt += line.raw
      rebuilt.append(0x0A)
      if line.kind == .key, let entry = line.entry {
        changes.append(Self.addition(entry))
      } else {
        lineChanges.append(
          LineChange(action: .add, line: index + 1, kind: line.kind, text: LineChange.printable(line.raw)))
      }
    }
    if let record {
      rebuilt += record
      rebuilt.append(0x0A)
    }
    self.changes = changes
    self.lineChanges = lineChanges
    self.isCanonical = rebuilt == new
  }

  /// The last line of `lines` when it is a record keyward would write for the lines before it
  /// (well-formed, digest of those lines each ended by a newline); nil otherwise.
  static func trailingRecord(_ lines: [AuthorizedKeysLine]) -> [UInt8]? {
    guard let last = lines.last, let parsed = WriteRecord.parse(last.raw) else { return nil }
    var body: [UInt8] = []
    for line in lines.dropLast() {
      body += line.raw
      body.append(0x0A)
    }
    return parsed.digest == ContentDigest.of(body) ? last.raw : nil
  }

  /// True when there is nothing to show.
  public var isEmpty: Bool { changes.isEmpty && lineChanges.isEmpty }

  /// The changes with the key names and reasons of `labels` (matched on action, fingerprint
  /// and line); a label that matches no derived change is dropped, a change without a label
  /// keeps `fallbackReason`.
  public func annotated(with labels: [KeyChange], fallbackReason: String = "") -> [KeyChange] {
    var pool: [LabelKey: [KeyChange]] = [:]
    for label in labels { pool[LabelKey(label), default: []].append(label) }
    return changes.map { change in
      var change = change
      let key = LabelKey(change)
      if var found = pool[key], !found.isEmpty {
        let label = found.removeFirst()
        pool[key] = found
        change.keyName = label.keyName
        change.reason = label.reason
        change.origin = label.origin
      } else {
        change.reason = fallbackReason
      }
      return change
    }
  }

  private struct LabelKey: Hashable {
    var action: ChangeAction
    var fingerprint: String
    var line: Int?
    init(_ change: KeyChange) {
      action = change.action
      fingerprint = change.fingerprint
      line = change.line
    }
  }

  static func options(_ options: [KeyOption]) -> String? {
    options.isEmpty ? nil : KeyOptions.render(options)
  }

  static func removal(_ entry: KeyEntry, line: Int) -> KeyChange {
    KeyChange(
      action: .remove, fingerprint: entry.key.fingerprint, type: entry.key.type, keyName: nil, reason: "",
      line: line, oldOptions: options(entry.options), oldComment: entry.comment)
  }

  static func update(_ old: KeyEntry, to new: KeyEntry, line: Int) -> KeyChange {
    KeyChange(
      action: .update, fingerprint: new.key.fingerprint, type: new.key.type, keyName: nil, reason: "",
      line: line, oldOptions: options(old.options), newOptions: options(new.options), oldComment: old.comment,
      newComment: new.comment)
  }

  static func addition(_ entry: KeyEntry) -> KeyChange {
    KeyChange(
      action: .add, fingerprint: entry.key.fingerprint, type: entry.key.type, keyName: nil, reason: "",
      newOptions: options(entry.options), newComment: entry.comment)
  }
}

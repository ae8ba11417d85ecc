import AuthorizedKeys
import Foundation

/// The lines phase of planning a target: the observed file merged with what the manifests
/// grant. `labels` say why each line changes; the changes themselves are derived from the
/// bytes afterwards, so the plan shows exactly what the new file is.
extension Planner {
  /// Merges the observed `file` with the keys `target` grants, in file order, then the keys
  /// still to add in manifest order. Warnings (invalid lines kept, protected keys kept,
  /// expiry soon) go to `warnings`.
  func mergeLines(
    _ target: DesiredTarget, observed: ObservedTarget, file: AuthorizedKeysFile,
    revoked: [String: Revocation], protected: Set<String>, keyNames: [String: String],
    warnings: inout [String]
  ) -> MergedLines {
    var merged = MergedLines()
    var pending = target.entries  // not yet matched, in manifest order
    let now = options.now

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
        warnings.append(
          "protected key \(name.map { "'\($0)' " } ?? "")(\(entry.key.fingerprint)) on line \(number) is kept:"
            + " protected keys are never removed (it would have been: \(why))")
        merged.keptKeys += 1
        merged.lines.append(line.raw)
        return
      }
      var label = KeyChange(
        action: .remove, fingerprint: entry.key.fingerprint, type: entry.key.type, keyName: name,
        reason: reason, line: number)
      label.origin = origin
      merged.labels.append(label)
    }

    for (index, line) in file.lines.enumerated() {
      let lineNumber = index + 1
      guard line.kind == .key, let entry = line.entry else {
        if WriteRecord.isRecord(line.raw) { continue }  // a fresh record is written below
        if line.kind == .invalid {
          warnings.append(
            "line \(lineNumber) is not a valid key line and is kept as it is: \(line.error ?? "invalid")")
        }
        merged.lines.append(line.raw)
        continue
      }
      merged.observedKeys += 1
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
            reason: "expired on \(UTCTime.day(expires))")
          continue
        }
        flagExpiry(wanted, warnings: &warnings)
        merged.keptKeys += 1
        let comment = wanted.comment ?? entry.comment
        if Self.sameOptions(entry.options, wanted.options) && comment == entry.comment {
          merged.lines.append(line.raw)
        } else {
          let updated = KeyEntry(options: wanted.options, key: entry.key, comment: comment)
          merged.lines.append(Array(updated.rendered().utf8))
          merged.labels.append(
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
      merged.keptKeys += 1
      merged.lines.append(line.raw)
    }

    for wanted in pending {
      if let expires = wanted.expires, expires <= now { continue }
      if revoked[wanted.key.fingerprint] != nil { continue }  // the manifest refuses this; never add it
      flagExpiry(wanted, warnings: &warnings)
      let comment = wanted.comment ?? wanted.keyName
      let entry = KeyEntry(options: wanted.options, key: wanted.key, comment: comment)
      let rendered = Array(entry.rendered().utf8)
      merged.lines.append(rendered)
      merged.added[wanted.key.fingerprint] = rendered
      merged.keptKeys += 1
      merged.labels.append(
        KeyChange(
          action: .add, fingerprint: wanted.key.fingerprint, type: wanted.key.type,
          keyName: wanted.keyName, reason: "granted by \(wanted.rule)"))
    }
    return merged
  }

  private func flagExpiry(_ entry: DesiredEntry, warnings: inout [String]) {
    guard let expires = entry.expires, expires > options.now,
      expires.timeIntervalSince(options.now) <= options.expiryWarning
    else { return }
    warnings.append("key '\(entry.keyName)' expires on \(UTCTime.day(expires))")
  }

  private func name(of key: PublicKey, in target: DesiredTarget) -> String? {
    target.entries.first { $0.key == key }?.keyName
  }
}

import AuthorizedKeys

extension Planner {
  /// The reason of a removal of a key the manifests define but no rule grants to the target.
  static let noLongerGranted = "no longer granted by any rule"

  /// Labels every change with its origin (`OriginClassifier`) and returns what the record
  /// says about the file. `file` is the file as read (`nil`: absent); `added` maps the
  /// fingerprint of each added key to the line written for it.
  func labelOrigins(
    of changes: inout [KeyChange], file: AuthorizedKeysFile?, added: [String: [UInt8]]
  ) -> FileHistory {
    let classifier = OriginClassifier(file: file)
    for index in changes.indices {
      if classifier.history == .unrecorded {
        changes[index].origin = .unknown
        continue
      }
      guard changes[index].origin == nil else { continue }
      let change = changes[index]
      let line: [UInt8]
      switch change.action {
      case .add:
        line = added[change.fingerprint] ?? []
      case .remove, .update:
        guard let number = change.line, let file, number >= 1, number <= file.lines.count else {
          changes[index].origin = .unknown
          continue
        }
        line = file.lines[number - 1].raw
      }
      changes[index].origin = classifier.origin(of: change.action, line: line)
    }
    // "No longer" is only true of a key keyward itself wrote there: one added on the host
    // (drift) or of unknown history was simply never granted here.
    for index in changes.indices
    where changes[index].reason == Self.noLongerGranted && changes[index].origin != .intent {
      changes[index].reason =
        changes[index].origin == .drift
        ? "defined in the manifests but not granted here by any rule (added on the host)"
        : "defined in the manifests but not granted here by any rule"
    }
    return classifier.history
  }
}

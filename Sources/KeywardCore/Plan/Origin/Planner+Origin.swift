import AuthorizedKeys

extension Planner {
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
    return classifier.history
  }
}

import AuthorizedKeys

/// Labels each change of a target as intent, drift or unknown from the `WriteRecord` in the
/// file as it was read. Pure: the file's lines in, labels out.
///
/// - No record: every change is `unknown`.
/// - The file is as keyward wrote it: every change is `intent` (only the manifests moved).
/// - The file changed since: a change that removes or rewrites a line keyward did not write
///   is `drift` (it undoes an edit made on the host); one that removes or rewrites a line
///   keyward wrote is `intent`; adding back a line keyward wrote before is `drift` (someone
///   deleted it), adding a line it never wrote is `intent`.
public struct OriginClassifier: Sendable {
  /// What the record says about the whole file.
  public let history: FileHistory
  /// The record found, if any.
  public let record: WriteRecord?
  private let written: Set<String>

  /// Reads the record out of a file's lines (`nil`: the file does not exist).
  public init(file: AuthorizedKeysFile?) {
    guard let file else {
      (history, record, written) = (.unrecorded, nil, [])
      return
    }
    var found: WriteRecord?
    var body: [UInt8] = []
    for line in file.lines {
      if WriteRecord.isRecord(line.raw) {
        found = WriteRecord.parse(line.raw)
        continue
      }
      body += line.raw
      body.append(0x0A)
    }
    guard let found else {
      (history, record, written) = (.unrecorded, nil, [])
      return
    }
    record = found
    written = Set(found.lines)
    history = ContentDigest.of(body) == found.digest ? .asWritten : .changed
  }

  /// The origin of one change. `line` is the observed line a remove or update replaces, or
  /// the new line an add writes (without its newline).
  public func origin(of action: ChangeAction, line: [UInt8]) -> ChangeOrigin {
    switch history {
    case .unrecorded: return .unknown
    case .asWritten: return .intent
    case .changed:
      let wrote = written.contains(WriteRecord.lineHash(line))
      switch action {
      case .add: return wrote ? .drift : .intent
      case .remove, .update: return wrote ? .intent : .drift
      }
    }
  }
}

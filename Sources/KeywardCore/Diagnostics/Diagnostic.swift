import AuthorizedKeys

/// One problem found in a manifest: severity, stable code, message, location and notes.
///
/// Messages are lowercase, without a trailing period, with user values in single quotes:
/// `key 'bob' is not defined`. Every message passes through `Echo.message` when it is set:
/// control characters escaped, quoted values and the whole message length-capped, so a manifest
/// value can neither forge a diagnostic line nor reach the terminal raw.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
  /// A remark attached to a diagnostic, with its own location ("first defined here").
  public struct Note: Hashable, Sendable, Codable {
    public var message: String {
      didSet { message = Echo.message(message) }
    }
    public var location: SourceLocation?

    public init(_ message: String, at location: SourceLocation? = nil) {
      self.message = Echo.message(message)
      self.location = location
    }
  }

  public var severity: DiagnosticSeverity
  public var code: DiagnosticCode
  public var message: String {
    didSet { message = Echo.message(message) }
  }
  /// Where the problem is; `nil` only for problems with no file (e.g. an empty directory).
  public var location: SourceLocation?
  public var notes: [Note]

  public init(
    _ severity: DiagnosticSeverity, _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
    notes: [Note] = []
  ) {
    self.severity = severity
    self.code = code
    self.message = Echo.message(message)
    self.location = location
    self.notes = notes
  }

  /// An error.
  public static func error(
    _ code: DiagnosticCode, _ message: String, at location: SourceLocation?, notes: [Note] = []
  ) -> Diagnostic {
    Diagnostic(.error, code, message, at: location, notes: notes)
  }

  /// A warning.
  public static func warning(
    _ code: DiagnosticCode, _ message: String, at location: SourceLocation?, notes: [Note] = []
  ) -> Diagnostic {
    Diagnostic(.warning, code, message, at: location, notes: notes)
  }

  /// `file:line:column: error: message [code]`, then one line per note.
  public var description: String {
    var lines = ["\(Self.prefix(location))\(severity.rawValue): \(message) [\(code.rawValue)]"]
    for note in notes {
      lines.append("\(Self.prefix(note.location))note: \(note.message)")
    }
    return lines.joined(separator: "\n")
  }

  private static func prefix(_ location: SourceLocation?) -> String {
    guard let location else { return "" }
    return "\(location): "
  }
}

/// The diagnostics collected while loading and resolving manifests: every problem in one run.
public struct Diagnostics: Sendable, Sequence {
  public private(set) var all: [Diagnostic] = []

  public init(_ diagnostics: [Diagnostic] = []) {
    all = diagnostics
  }

  /// Whether any diagnostic is an error.
  public var hasErrors: Bool { all.contains { $0.severity == .error } }
  public var errorCount: Int { all.count { $0.severity == .error } }
  public var warningCount: Int { all.count { $0.severity == .warning } }

  public mutating func append(_ diagnostic: Diagnostic) {
    all.append(diagnostic)
  }

  public mutating func append(contentsOf other: some Sequence<Diagnostic>) {
    all.append(contentsOf: other)
  }

  /// Records an error.
  public mutating func error(
    _ code: DiagnosticCode, _ message: String, at location: SourceLocation?, notes: [Diagnostic.Note] = []
  ) {
    all.append(.error(code, message, at: location, notes: notes))
  }

  /// Records a warning.
  public mutating func warning(
    _ code: DiagnosticCode, _ message: String, at location: SourceLocation?, notes: [Diagnostic.Note] = []
  ) {
    all.append(.warning(code, message, at: location, notes: notes))
  }

  /// Diagnostics in a stable order: by location (file, line, column), then code and message.
  /// Diagnostics without a location come first.
  public var sorted: [Diagnostic] {
    all.enumerated().sorted { lhs, rhs in
      let (l, r) = (lhs.element, rhs.element)
      switch (l.location, r.location) {
      case (nil, .some): return true
      case (.some, nil): return false
      case (.some(let a), .some(let b)) where a != b: return a < b
      default:
        if l.code != r.code { return l.code.rawValue < r.code.rawValue }
        return lhs.offset < rhs.offset
      }
    }.map(\.element)
  }

  public func makeIterator() -> IndexingIterator<[Diagnostic]> { all.makeIterator() }
}

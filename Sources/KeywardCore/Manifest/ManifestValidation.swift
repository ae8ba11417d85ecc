/// What checking manifests without touching any host found: the manifest made of every path
/// given (loaded as `plan` and `apply` load it), its size and its diagnostics. A value: the
/// command line renders it and picks the exit status.
public struct ManifestValidation: Sendable {
  /// Whether the manifest can be used.
  public enum Outcome: Sendable {
    /// No error (warnings allowed).
    case valid
    /// At least one error.
    case invalid
    /// A path could not be read at all.
    case unreadable
  }

  /// The paths given, in order.
  public var paths: [String]
  /// Every file read.
  public var files: [String]
  public var outcome: Outcome
  /// How many targets and key entries the manifest resolves to (0 when it does not load).
  public var targets: Int
  public var entries: Int
  /// Every problem found, in the order found.
  public var diagnostics: [Diagnostic]

  /// Loads the manifest made of `paths` with `loader` and checks it.
  public init(paths: [String], loader: ManifestLoader = ManifestLoader()) {
    let result = loader.load(paths: paths)
    self.paths = paths
    files = result.files
    outcome = result.isUnreadable ? .unreadable : result.isValid ? .valid : .invalid
    targets = result.state?.targets.count ?? 0
    entries = result.state?.targets.reduce(0) { $0 + $1.entries.count } ?? 0
    diagnostics = result.diagnostics
  }

  /// How many diagnostics are errors.
  public var errors: Int { diagnostics.count { $0.severity == .error } }
  /// How many diagnostics are warnings.
  public var warnings: Int { diagnostics.count { $0.severity == .warning } }
}

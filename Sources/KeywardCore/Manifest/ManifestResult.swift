/// What loading a manifest produced: the desired state when it is valid, and every diagnostic.
public struct ManifestResult: Sendable {
  /// The resolved state; `nil` when any error was found.
  public var state: DesiredState?
  /// Every problem, sorted by location.
  public var diagnostics: [Diagnostic]
  /// The manifest files read, in merge order.
  public var files: [String]
  /// The path itself could not be read (missing, unreadable, or a directory with no manifest):
  /// a usage problem rather than a problem in a manifest.
  public var isUnreadable: Bool
  /// Every remote key source the manifests name, in order (for `keyward lock`).
  public var keySources: [KeySourceUse] = []
  /// Where the manifests' `keyward.lock` is (set by `ManifestLoader.load(paths:)`).
  public var lockPath: String?

  public init(state: DesiredState?, diagnostics: [Diagnostic], files: [String], isUnreadable: Bool = false) {
    self.state = state
    self.diagnostics = diagnostics
    self.files = files
    self.isUnreadable = isUnreadable
  }

  /// Whether the manifest has no errors (warnings allowed).
  public var isValid: Bool { !isUnreadable && !diagnostics.contains { $0.severity == .error } }
}

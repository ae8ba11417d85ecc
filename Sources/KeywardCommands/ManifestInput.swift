import ArgumentParser
import KeywardCore

/// Loads manifests for plan and apply, printing their diagnostics; any error stops the run
/// before a host is touched.
enum ManifestInput {
  static func load(_ paths: [String]) throws -> DesiredState {
    let result = try loadResult(paths)
    guard let state = result.state else { throw ExitCode(1) }
    return state
  }

  /// Loads and reports; throws unless the manifests are valid (the state may be partial when
  /// `requiresLock` is false: remote key sources are listed, not resolved).
  static func loadResult(_ paths: [String], requiresLock: Bool = true) throws -> ManifestResult {
    let result = ManifestLoader(requiresLock: requiresLock).load(paths: paths)
    if !result.diagnostics.isEmpty {
      Terminal.error(DiagnosticRenderer.text(result.diagnostics))
    }
    if result.isUnreadable { throw ExitCode(2) }
    guard result.state != nil else {
      let errors = result.diagnostics.count { $0.severity == .error }
      Terminal.error("the manifest has \(errors) error\(errors == 1 ? "" : "s"); nothing was planned")
      throw ExitCode(1)
    }
    return result
  }
}

import ArgumentParser
import KeywardCore

/// Loads manifests for plan and apply, printing their diagnostics; any error stops the run
/// before a host is touched.
enum ManifestInput {
  static func load(_ paths: [String]) throws -> DesiredState {
    let result = ManifestLoader().load(paths: paths)
    if !result.diagnostics.isEmpty {
      Terminal.error(DiagnosticRenderer.text(result.diagnostics))
    }
    if result.isUnreadable { throw ExitCode(2) }
    guard let state = result.state else {
      let errors = result.diagnostics.count { $0.severity == .error }
      Terminal.error("the manifest has \(errors) error\(errors == 1 ? "" : "s"); nothing was planned")
      throw ExitCode(1)
    }
    return state
  }
}

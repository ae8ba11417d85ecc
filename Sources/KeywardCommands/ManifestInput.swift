import ArgumentParser
import Foundation
import KeywardCore

/// Loads manifests for plan and apply, printing their diagnostics; any error stops the run
/// before a host is touched.
enum ManifestInput {
  /// The loader every command uses: `file:` key sources may also come from the directories
  /// listed, colon-separated, in `KEYWARD_KEY_FILE_ROOTS`.
  static var loader: ManifestLoader {
    let roots = ProcessInfo.processInfo.environment["KEYWARD_KEY_FILE_ROOTS"] ?? ""
    return ManifestLoader(keyFileRoots: roots.split(separator: ":").map(String.init))
  }

  static func load(_ paths: [String]) throws -> DesiredState {
    let result = try loadResult(paths)
    guard let state = result.state else { throw ExitCode(1) }
    return state
  }

  /// Loads and reports; throws unless the manifests are valid (the state may be partial when
  /// `requiresLock` is false: remote key sources are listed, not resolved).
  static func loadResult(_ paths: [String], requiresLock: Bool = true) throws -> ManifestResult {
    var loader = self.loader
    loader.requiresLock = requiresLock
    let result = loader.load(paths: paths)
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

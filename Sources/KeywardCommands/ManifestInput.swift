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
    let result = loader.load(paths: paths)
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

import ArgumentParser
import KeywardCore

/// Loads manifests for plan and apply, printing their diagnostics; any error stops the run
/// before a host is touched.
enum ManifestInput {
  static func load(_ paths: [String]) throws -> DesiredState {
    throw ValidationError("manifest loading lands with the manifest language")
  }
}

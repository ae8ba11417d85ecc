import ArgumentParser
import Foundation
import KeywardCore

/// `keyward validate PATH...`: checks manifests without touching any host.
public struct ValidateCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check manifests: YAML, names, keys, policy and access rules. No network, no host touched.",
    discussion: """
      Each PATH is one manifest: a file, or a directory whose *.yaml and *.yml files form one manifest. \
      Key files named by 'file:' are read relative to the manifest and must stay inside its directory; \
      list other directories, colon-separated, in KEYWARD_KEY_FILE_ROOTS.
      Exit status: 0 valid (warnings allowed), 1 errors found, 2 a path could not be read.
      """
  )

  @Argument(help: "Manifest files or directories.")
  var paths: [String] = []

  @Option(help: "Output format: text or json.")
  var format: ValidationReport.Format = .text

  public init() {}

  public func validate() throws {
    if paths.isEmpty {
      FileHandle.standardError.write(Data("error: give at least one manifest file or directory\n".utf8))
      throw ExitCode(2)
    }
  }

  public func run() throws {
    let validation = ManifestValidation(paths: paths, loader: ManifestInput.loader)
    switch format {
    case .text:
      let diagnostics = DiagnosticRenderer.text(validation.diagnostics)
      if !diagnostics.isEmpty { Terminal.error(diagnostics) }
      Terminal.out(ValidationReport.text(validation))
    case .json:
      Terminal.out(ValidationReport.json(validation))
    }
    let code = ValidationReport.exitCode(validation)
    if code != 0 { throw ExitCode(code) }
  }
}

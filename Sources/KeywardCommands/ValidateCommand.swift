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
  var format: ManifestValidation.Format = .text

  public init() {}

  public func validate() throws {
    if paths.isEmpty {
      FileHandle.standardError.write(Data("error: give at least one manifest file or directory\n".utf8))
      throw ExitCode(2)
    }
  }

  public func run() throws {
    let output = ManifestValidation.run(paths: paths, format: format, loader: ManifestInput.loader)
    FileHandle.standardError.write(Data(output.standardError.utf8))
    FileHandle.standardOutput.write(Data(output.standardOutput.utf8))
    if output.exitCode != 0 { throw ExitCode(output.exitCode) }
  }
}

extension ManifestValidation.Format: ExpressibleByArgument {}

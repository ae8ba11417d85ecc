import ArgumentParser
import Foundation
import KeywardCore

/// `keyward diff`: who gains and who loses access between two versions of the manifests,
/// without contacting any host.
struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract:
      "Show who gains and loses which access between two versions of the manifests (no host is contacted).",
    discussion: """
      keyward diff OLD NEW          two manifest files or directories
      keyward diff --base REV PATH  PATH as it is against PATH at git revision REV
                                    (e.g. --base origin/main in a pull request)
      Exit codes: 0 no access change, 1 errors, 2 access changes (with --detailed-exitcode; \
      0 otherwise).
      """)

  @Argument(help: ArgumentHelp("OLD NEW manifests, or with --base the manifest paths.", valueName: "PATH"))
  var paths: [String]

  @Option(help: ArgumentHelp("Compare PATH against itself at this git revision.", valueName: "REV"))
  var base: String?

  @Option(help: "Output format: text, json or markdown.")
  var format: OutputFormat = .text

  @Option(
    name: .customLong("out-dir"),
    help: ArgumentHelp(
      "With --format markdown: write diff-1.md, ... into DIR, removing parts left from an earlier run.",
      valueName: "DIR"))
  var outDir: String?

  @Flag(name: .customLong("detailed-exitcode"), help: "Exit 2 when access changes, 0 when it does not.")
  var detailedExitcode = false

  func validate() throws {
    if base == nil && paths.count != 2 {
      throw ValidationError("give two manifests (OLD NEW), or --base REV and the manifest paths")
    }
    if base != nil && paths.isEmpty { throw ValidationError("--base needs the manifest paths to compare") }
    if outDir != nil && format != .markdown { throw ValidationError("--out-dir needs --format markdown") }
  }

  func run() throws {
    let old: DesiredState
    let new: DesiredState
    if let base {
      let checkout = try GitRevision.checkout(base, paths: paths)
      defer { checkout.remove() }
      old = try load(checkout.paths, label: "the manifests at '\(base)'")
      new = try load(paths, label: "the manifests")
    } else {
      old = try load([paths[0]], label: "'\(paths[0])'")
      new = try load([paths[1]], label: "'\(paths[1])'")
    }
    let diff = AccessDiff(old: old, new: new)
    switch format {
    case .text: Terminal.out(AccessDiffRenderer().text(diff))
    case .json: Terminal.out(String(decoding: diff.json(), as: UTF8.self))
    case .markdown:
      let parts = AccessDiffRenderer().markdownParts(diff)
      if let outDir {
        try PlanOutput.writeParts(parts, prefix: "diff", to: outDir)
      } else {
        Terminal.out(parts.joined(separator: "\n"))
      }
    }
    if detailedExitcode && !diff.isEmpty { throw ExitCode(2) }
  }

  private func load(_ paths: [String], label: String) throws -> DesiredState {
    let result = ManifestLoader().load(paths: paths)
    if !result.diagnostics.isEmpty { Terminal.error(DiagnosticRenderer.text(result.diagnostics)) }
    guard let state = result.state else {
      Terminal.report(.error, "\(label) have errors; nothing was compared")
      throw ExitCode(1)
    }
    return state
  }
}

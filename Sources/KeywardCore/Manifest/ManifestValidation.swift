import Foundation

/// `keyward validate`: loads the manifest made of every path given (as `plan` and `apply` do)
/// and reports, without touching any host.
///
/// Exit status: 0 when every manifest is valid (warnings allowed), 1 when any has errors,
/// 2 when a path cannot be read at all.
public enum ManifestValidation {
  public enum Format: String, Sendable, CaseIterable {
    case text
    case json
  }

  /// What the command prints and returns.
  public struct Output: Sendable {
    public var exitCode: Int32
    public var standardOutput: String
    public var standardError: String
  }

  struct Summary: Codable {
    var paths: [String]
    var files: [String]
    var valid: Bool
    var targets: Int
    var entries: Int
    var errors: Int
    var warnings: Int
  }

  struct Report: Codable {
    var formatVersion = 1
    var manifest: Summary
    var diagnostics: [DiagnosticRenderer.Record]

    enum CodingKeys: String, CodingKey {
      case formatVersion = "format_version"
      case manifest, diagnostics
    }
  }

  public static func run(paths: [String], format: Format, loader: ManifestLoader = ManifestLoader()) -> Output
  {
    let result = loader.load(paths: paths)
    let errors = result.diagnostics.count { $0.severity == .error }
    let warnings = result.diagnostics.count { $0.severity == .warning }
    let targets = result.state?.targets.count ?? 0
    let entries = result.state?.targets.reduce(0) { $0 + $1.entries.count } ?? 0
    let exitCode: Int32 = result.isUnreadable ? 2 : result.isValid ? 0 : 1
    let summary = Summary(
      paths: paths, files: result.files, valid: result.isValid, targets: targets, entries: entries,
      errors: errors, warnings: warnings)
    switch format {
    case .text:
      let name = paths.joined(separator: " ")
      var line: String
      if result.isUnreadable {
        line = "\(name): unreadable"
      } else if result.isValid {
        let warned = warnings > 0 ? ", \(plural(warnings, "warning"))" : ""
        line =
          "\(name): valid (\(plural(result.files.count, "file")), \(plural(targets, "target")), "
          + "\(plural(entries, "entry"))\(warned))"
      } else {
        let counts = [plural(errors, "error"), plural(warnings, "warning")].filter { !$0.hasPrefix("0 ") }
        line = "\(name): invalid (\(counts.joined(separator: ", ")))"
      }
      return Output(
        exitCode: exitCode, standardOutput: line + "\n",
        standardError: DiagnosticRenderer.text(result.diagnostics))
    case .json:
      let report = Report(
        manifest: summary, diagnostics: result.diagnostics.map(DiagnosticRenderer.Record.init))
      let data = (try? DiagnosticRenderer.encoder().encode(report)) ?? Data()
      return Output(
        exitCode: exitCode, standardOutput: String(decoding: data, as: UTF8.self) + "\n", standardError: "")
    }
  }

  private static func plural(_ count: Int, _ word: String) -> String {
    if count == 1 { return "1 \(word)" }
    return word.hasSuffix("y") ? "\(count) \(word.dropLast())ies" : "\(count) \(word)s"
  }
}

import Foundation

/// `keyward validate`: loads each path as its own manifest and reports, without touching any host.
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
    var path: String
    var files: [String]
    var valid: Bool
    var targets: Int
    var entries: Int
    var errors: Int
    var warnings: Int
  }

  struct Report: Codable {
    var formatVersion = 1
    var valid: Bool
    var manifests: [Summary]
    var diagnostics: [DiagnosticRenderer.Record]

    enum CodingKeys: String, CodingKey {
      case formatVersion = "format_version"
      case valid, manifests, diagnostics
    }
  }

  public static func run(paths: [String], format: Format, loader: ManifestLoader = ManifestLoader()) -> Output
  {
    var exitCode: Int32 = 0
    var summaries: [Summary] = []
    var diagnostics: [Diagnostic] = []
    var text = ""
    for path in paths {
      let result = loader.load(path)
      diagnostics += result.diagnostics
      let errors = result.diagnostics.count { $0.severity == .error }
      let warnings = result.diagnostics.count { $0.severity == .warning }
      let targets = result.state?.targets.count ?? 0
      let entries = result.state?.targets.reduce(0) { $0 + $1.entries.count } ?? 0
      summaries.append(
        Summary(
          path: path, files: result.files, valid: result.isValid, targets: targets, entries: entries,
          errors: errors, warnings: warnings))
      if result.isUnreadable {
        exitCode = 2
      } else if !result.isValid {
        exitCode = max(exitCode, 1)
      }
      let counts = [plural(errors, "error"), plural(warnings, "warning")].filter { !$0.hasPrefix("0 ") }
      if result.isUnreadable {
        text += "\(path): unreadable\n"
      } else if result.isValid {
        let files = plural(result.files.count, "file")
        let warned = warnings > 0 ? ", \(plural(warnings, "warning"))" : ""
        text +=
          "\(path): valid (\(files), \(plural(targets, "target")), \(plural(entries, "entry"))\(warned))\n"
      } else {
        text += "\(path): invalid (\(counts.joined(separator: ", ")))\n"
      }
    }
    switch format {
    case .text:
      return Output(
        exitCode: exitCode, standardOutput: text, standardError: DiagnosticRenderer.text(diagnostics))
    case .json:
      let report = Report(
        valid: exitCode == 0, manifests: summaries,
        diagnostics: diagnostics.map(DiagnosticRenderer.Record.init))
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

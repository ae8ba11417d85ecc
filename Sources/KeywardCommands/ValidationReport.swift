import ArgumentParser
import Foundation
import KeywardCore

/// How `keyward validate` shows a ``ManifestValidation``: one summary line (diagnostics in the
/// editor form on standard error), or the JSON report.
enum ValidationReport {
  /// Output formats.
  enum Format: String, Sendable, CaseIterable, ExpressibleByArgument {
    case text
    case json
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

  struct Document: Codable {
    var formatVersion = 1
    var manifest: Summary
    var diagnostics: [DiagnosticRenderer.Record]

    enum CodingKeys: String, CodingKey {
      case formatVersion = "format_version"
      case manifest, diagnostics
    }
  }

  /// 0 valid (warnings allowed), 1 errors found, 2 a path could not be read.
  static func exitCode(_ validation: ManifestValidation) -> Int32 {
    switch validation.outcome {
    case .valid: 0
    case .invalid: 1
    case .unreadable: 2
    }
  }

  /// The summary line: `PATHS: valid (…)`, `PATHS: invalid (…)` or `PATHS: unreadable`.
  static func text(_ validation: ManifestValidation) -> String {
    let name = validation.paths.joined(separator: " ")
    let (errors, warnings) = (validation.errors, validation.warnings)
    switch validation.outcome {
    case .unreadable:
      return "\(name): unreadable\n"
    case .valid:
      let warned = warnings > 0 ? ", \(plural(warnings, "warning"))" : ""
      return
        "\(name): valid (\(plural(validation.files.count, "file")), \(plural(validation.targets, "target")), "
        + "\(plural(validation.entries, "entry"))\(warned))\n"
    case .invalid:
      let counts = [plural(errors, "error"), plural(warnings, "warning")].filter { !$0.hasPrefix("0 ") }
      return "\(name): invalid (\(counts.joined(separator: ", ")))\n"
    }
  }

  /// The JSON report (`format_version` 1).
  static func json(_ validation: ManifestValidation) -> String {
    let summary = Summary(
      paths: validation.paths, files: validation.files, valid: validation.outcome == .valid,
      targets: validation.targets, entries: validation.entries, errors: validation.errors,
      warnings: validation.warnings)
    let document = Document(
      manifest: summary, diagnostics: validation.diagnostics.map(DiagnosticRenderer.Record.init))
    let data = (try? DiagnosticRenderer.encoder().encode(document)) ?? Data()
    return String(decoding: data, as: UTF8.self) + "\n"
  }

  private static func plural(_ count: Int, _ word: String) -> String {
    if count == 1 { return "1 \(word)" }
    return word.hasSuffix("y") ? "\(count) \(word.dropLast())ies" : "\(count) \(word)s"
  }
}

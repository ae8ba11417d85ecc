import Foundation
import KeywardCore

/// Prints a plan in the chosen format.
enum PlanOutput {
  static func print(_ plan: Plan, format: OutputFormat, color: Bool, outDir: String?) throws {
    switch format {
    case .text:
      Terminal.out(TextPlanRenderer(color: color).render(plan))
    case .json:
      Terminal.out(JSONPlanRenderer().render(plan))
    case .markdown:
      let parts = MarkdownPlanRenderer().renderParts(plan)
      if let outDir {
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        for (index, part) in parts.enumerated() {
          try Data(part.utf8).write(
            to: URL(fileURLWithPath: outDir).appendingPathComponent("plan-\(index + 1).md"))
        }
        Terminal.error("Wrote \(parts.count) Markdown part(s) to \(outDir)")
      } else {
        Terminal.out(parts.joined(separator: "\n<!-- keyward: next part -->\n"))
      }
    }
  }
}

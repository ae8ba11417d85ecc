import Foundation
import KeywardCore

/// Prints a plan in the chosen format.
enum PlanOutput {
  /// `planDigest`: the digest of the saved plan file, carried by the Markdown marker (default:
  /// the digest of the plan file this plan would make).
  static func print(
    _ plan: Plan, format: OutputFormat, color: Bool, outDir: String?, planDigest: String? = nil
  )
    throws
  {
    switch format {
    case .text:
      Terminal.out(TextPlanRenderer(color: color).render(plan) + RolloutText.text(plan))
    case .json:
      Terminal.out(JSONPlanRenderer().render(plan))
    case .markdown:
      let digest = "sha256:" + (planDigest ?? ContentDigest.of(PlanFile.encode(plan)))
      let parts = MarkdownPlanRenderer(digest: digest).renderParts(plan)
      if let outDir {
        try writeParts(parts, prefix: "plan", to: outDir)
      } else {
        Terminal.out(parts.joined(separator: "\n"))
      }
    }
  }

  /// Writes `PREFIX-1.md`, ... into `directory` (each atomically) and removes every other
  /// `PREFIX-N.md` there, so that a shorter plan never leaves parts of a longer one behind.
  static func writeParts(_ parts: [String], prefix: String, to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var written: Set<String> = []
    for (index, part) in parts.enumerated() {
      let name = "\(prefix)-\(index + 1).md"
      try FileIO.writeAtomically(Array(part.utf8), to: directory + "/" + name, mode: 0o644)
      written.insert(name)
    }
    var removed = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: directory)
    where isPart(name, prefix: prefix) && !written.contains(name) {
      try FileManager.default.removeItem(atPath: directory + "/" + name)
      removed += 1
    }
    var note = "Wrote \(parts.count) Markdown part(s) to \(directory)"
    if removed > 0 { note += " (removed \(removed) stale part(s) of an earlier run)" }
    Terminal.error(note)
  }

  /// `PREFIX-<digits>.md`
  static func isPart(_ name: String, prefix: String) -> Bool {
    guard name.hasPrefix(prefix + "-"), name.hasSuffix(".md") else { return false }
    let middle = name.dropFirst(prefix.count + 1).dropLast(3)
    return !middle.isEmpty && middle.allSatisfy(\.isASCII) && middle.allSatisfy(\.isNumber)
  }
}

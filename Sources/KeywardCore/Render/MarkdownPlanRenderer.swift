import AuthorizedKeys
import Foundation

/// Renders a plan as Markdown for pull-request comments: a summary table, one collapsible
/// section per changed target, fingerprints and key names rather than base64.
///
/// Comments have a size limit, so `renderParts` splits long output into numbered parts,
/// each under `limit` characters, cutting only between target sections.
public struct MarkdownPlanRenderer: Sendable {
  /// The largest part, in characters (GitHub's comment limit is 65,536).
  public var limit: Int

  public init(limit: Int = 60_000) {
    self.limit = limit
  }

  /// The whole plan as one document.
  public func render(_ plan: Plan) -> String {
    header(plan) + sections(plan).joined() + footer(plan)
  }

  /// The plan in parts of at most `limit` characters each.
  public func renderParts(_ plan: Plan) -> [String] {
    let head = header(plan)
    let foot = footer(plan)
    let marker = "\n_(continued in the next part)_\n"
    let title = 64  // room for the "part i of n" line
    let room = limit - head.count - foot.count - marker.count - title
    var parts: [String] = []
    var current = head
    var sectionsInCurrent = 0
    for var section in sections(plan) {
      if section.count > room {
        section = String(section.prefix(room - 100)) + "\n\n_(section truncated)_\n\n</details>\n\n"
      }
      if sectionsInCurrent > 0 && current.count + section.count + foot.count + marker.count + title > limit {
        parts.append(current + marker)
        current = ""
        sectionsInCurrent = 0
      }
      current += section
      sectionsInCurrent += 1
    }
    parts.append(current + foot)
    guard parts.count > 1 else { return parts }
    return parts.enumerated().map { index, text in
      "**keyward plan, part \(index + 1) of \(parts.count)**\n\n" + text
    }
  }

  private func header(_ plan: Plan) -> String {
    let s = plan.summary
    var out = "### keyward plan\n\n"
    out += "| to add | to update | to remove | targets changed | unchanged | failed |\n"
    out += "|---:|---:|---:|---:|---:|---:|\n"
    out += "| \(s.add) | \(s.update) | \(s.remove) | \(s.changed) | \(s.unchanged) | \(s.errors) |\n\n"
    for error in plan.errors {
      out += "> **Error:** \(escape(error))\n\n"
    }
    let failed = plan.targets.filter { $0.status == .error }
    if !failed.isEmpty {
      out += "**Failed targets** (nothing will be written to them):\n\n"
      for target in failed {
        out += "- `\(escape(target.id.description))`: \(escape(target.error ?? "unknown error"))\n"
      }
      out += "\n"
    }
    return out
  }

  private func sections(_ plan: Plan) -> [String] {
    plan.targets.filter { $0.status == .changes }.map { target in
      var out = "<details><summary><code>\(escapeHTML(target.id.description))</code>: "
      out += "+\(target.count(.add)) ~\(target.count(.update)) -\(target.count(.remove))</summary>\n\n"
      out += "Path `\(escape(target.id.path))`, mode \(target.mode.rawValue).\n\n"
      if !target.changes.isEmpty {
        out += "| | key | type | fingerprint | why |\n|---|---|---|---|---|\n"
        for change in target.changes {
          let name = change.keyName.map { "`\(escape(Echo.value($0)))`" } ?? "_unmanaged_"
          out +=
            "| `\(change.action.symbol)` | \(name) | `\(escape(change.type))` | `\(escape(change.fingerprint))` | \(escape(change.reason)) |\n"
        }
        out += "\n"
      }
      for action in target.fileActions { out += "- \(escape(action.summary))\n" }
      for warning in target.warnings { out += "- :warning: \(escape(warning))\n" }
      out += "\n</details>\n\n"
      return out
    }
  }

  private func footer(_ plan: Plan) -> String {
    "`" + plan.summary.line + "`\n"
  }

  /// Markdown table and HTML characters escaped, after `Echo` (control characters, length).
  private func escape(_ text: String) -> String {
    var out = ""
    for ch in Echo.message(text) {
      switch ch {
      case "|": out += "\\|"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\n": out += " "
      default: out.append(ch)
      }
    }
    return out
  }

  private func escapeHTML(_ text: String) -> String {
    Echo.value(text).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}

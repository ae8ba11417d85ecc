import AuthorizedKeys
import Foundation

/// Renders a plan as Markdown for pull-request comments: a hidden marker, a one-line
/// summary, failed targets, then one collapsible section per host; fingerprints and key
/// names rather than base64.
///
/// Comments have a size limit, so `renderParts` splits long output into numbered parts (each
/// carrying the marker, `MarkdownParts`), cutting only between host sections.
public struct MarkdownPlanRenderer: Sendable {
  /// The largest part, in UTF-8 bytes (GitHub's comment limit is 65,536 characters).
  public var limit: Int
  /// What the marker carries: the digest of the plan file (`plan --out`) this shows.
  public var digest: String

  public init(limit: Int = 60_000, digest: String = "none") {
    self.limit = limit
    self.digest = digest
  }

  /// The whole plan as one document.
  public func render(_ plan: Plan) -> String {
    MarkdownParts(kind: "plan", digest: digest, limit: Int.max).marker(1, of: 1) + header(plan)
      + sections(plan).joined() + footer(plan)
  }

  /// The plan in parts of at most `limit` bytes each.
  public func renderParts(_ plan: Plan) -> [String] {
    MarkdownParts(kind: "plan", digest: digest, limit: limit).split(
      head: header(plan), sections: sections(plan), foot: footer(plan))
  }

  /// `+A ~U −R on N targets; D drift; E errors`
  public static func summaryLine(_ plan: Plan) -> String {
    let s = plan.summary
    let errors = s.errors
    return
      "+\(s.add) ~\(s.update) \u{2212}\(s.remove) on \(s.changed) \(s.changed == 1 ? "target" : "targets");"
      + " \(s.drift) drift; \(errors) \(errors == 1 ? "error" : "errors")"
  }

  private func header(_ plan: Plan) -> String {
    var out = "### keyward plan\n\n**\(Self.summaryLine(plan))**\n\n" + RolloutText.markdown(plan)
    let s = plan.summary
    if s.intent + s.drift + s.unknown > 0 || s.drifted > 0 {
      out += "Origin: \(s.intent) intent (manifest changes), \(s.drift) drift (undo edits made on hosts)"
      if s.unknown > 0 { out += ", \(s.unknown) unknown (no record of keyward's last write)" }
      if s.drifted > 0 { out += "; \(s.drifted) changed on the host since keyward wrote them" }
      out += ".\n\n"
    }
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

  /// One `<details>` per host with changes, hosts in name order.
  private func sections(_ plan: Plan) -> [String] {
    let changed = plan.targets.filter { $0.status == .changes }
    var hosts: [String] = []
    var byHost: [String: [TargetPlan]] = [:]
    for target in changed {
      if byHost[target.id.host] == nil { hosts.append(target.id.host) }
      byHost[target.id.host, default: []].append(target)
    }
    return NaturalOrder.sorted(hosts).map { host in
      let targets = byHost[host] ?? []
      let add = targets.reduce(0) { $0 + $1.count(.add) }
      let update = targets.reduce(0) { $0 + $1.count(.update) }
      let remove = targets.reduce(0) { $0 + $1.count(.remove) }
      let drift = targets.reduce(0) { $0 + $1.count(ChangeOrigin.drift) }
      var out = "<details><summary><code>\(escapeHTML(host))</code>: "
      out +=
        "\(targets.count) \(targets.count == 1 ? "target" : "targets"), +\(add) ~\(update) \u{2212}\(remove)"
      if drift > 0 { out += ", \(drift) drift" }
      out += "</summary>\n\n"
      for target in targets { out += section(target) }
      out += "</details>\n\n"
      return out
    }
  }

  private func section(_ target: TargetPlan) -> String {
    var out = "**`\(escape(target.id.user))`** `\(escape(target.id.path))`, \(target.mode.rawValue)"
    if target.allowOutsideHome { out += ", outside the user's home (`outside_home`)" }
    if target.runsAsRoot { out += ", **acting as root** (`act_as_root`)" }
    out += TextPlanRenderer.origins(target) + "\n\n"
    if !target.changes.isEmpty {
      out += "| | key | type | fingerprint | origin | why |\n|---|---|---|---|---|---|\n"
      for change in target.changes {
        let name = change.keyName.map { "`\(escape(Echo.value($0)))`" } ?? "_unmanaged_"
        let origin = change.origin.map { $0 == .drift ? "**drift**" : $0.rawValue } ?? ""
        out +=
          "| `\(change.action.symbol)` | \(name) | `\(escape(change.type))` | `\(escape(change.fingerprint))` | \(origin) | \(escape(change.reason)) |\n"
      }
      out += "\n"
    }
    for line in target.lineChanges {
      out += "- `\(line.action.symbol)` line \(line.line) (\(line.kind.rawValue)): \(escape(line.text))\n"
    }
    for action in target.fileActions { out += "- \(escape(action.summary))\n" }
    for warning in target.warnings { out += "- :warning: \(escape(warning))\n" }
    if !target.lineChanges.isEmpty || !target.fileActions.isEmpty || !target.warnings.isEmpty { out += "\n" }
    return out
  }

  private func footer(_ plan: Plan) -> String {
    "`" + plan.summary.line + "`\n"
  }

  private func escape(_ text: String) -> String { MarkdownText.escape(text) }

  private func escapeHTML(_ text: String) -> String {
    Echo.value(text).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}

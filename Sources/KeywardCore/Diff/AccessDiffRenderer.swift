import AuthorizedKeys

/// Renders an `AccessDiff` for people (text) and for pull-request comments (Markdown with
/// the same hidden marker as plans: `<!-- keyward diff part=1 of=1 digest=... -->`).
public struct AccessDiffRenderer: Sendable {
  public init() {}

  /// For a terminal: one block per key, flagged keys first.
  public func text(_ diff: AccessDiff) -> String {
    guard !diff.isEmpty else { return "No access changes.\n" + diff.summaryLine + "\n" }
    var out = ""
    for key in diff.keys {
      out += "'\(Echo.value(key.keyName))' (\(key.fingerprint))\n"
      for reason in key.large { out += "  !! large grant: \(reason)\n" }
      if !key.gains.isEmpty { out += "  + gains: " + Echo.message(key.gains.joined(separator: ", ")) + "\n" }
      if !key.losses.isEmpty {
        out += "  - loses: " + Echo.message(key.losses.joined(separator: ", ")) + "\n"
      }
      for change in diff.changes where change.fingerprint == key.fingerprint && change.kind == .options {
        out +=
          "  ~ options on \(change.target): \(change.oldOptions ?? "(none)") -> \(change.newOptions ?? "(none)")\n"
      }
      out += "\n"
    }
    return out + diff.summaryLine + "\n"
  }

  /// Markdown parts of at most `limit` UTF-8 bytes, each with the marker.
  public func markdownParts(_ diff: AccessDiff, limit: Int = 60_000) -> [String] {
    let digest = "sha256:" + ContentDigest.of(diff.json())
    var head = "### keyward access diff\n\n**\(escape(diff.summaryLine))**\n\n"
    let flagged = diff.keys.filter { !$0.large.isEmpty }
    if !flagged.isEmpty {
      head += "> [!WARNING]\n> **Large grants:**\n"
      for key in flagged { head += "> - `\(escape(key.keyName))`: \(key.large.joined(separator: "; "))\n" }
      head += "\n"
    }
    if diff.isEmpty { head += "No access changes.\n\n" }
    let sections = diff.keys.map { key -> String in
      var out = "<details><summary><code>\(escape(key.keyName))</code>: "
      out += "+\(key.gains.count) \u{2212}\(key.losses.count) ~\(key.optionChanges.count)"
      if !key.large.isEmpty { out += " :warning:" }
      out += "</summary>\n\n`\(key.fingerprint)`\n\n| | target | options |\n|---|---|---|\n"
      for change in diff.changes where change.fingerprint == key.fingerprint {
        let symbol =
          switch change.kind {
          case .grant: "+"
          case .revoke: "-"
          case .options: "~"
          }
        let options =
          switch change.kind {
          case .grant: change.newOptions.map { "`\(escape($0))`" } ?? ""
          case .revoke: change.oldOptions.map { "`\(escape($0))`" } ?? ""
          case .options:
            "`\(escape(change.oldOptions ?? "(none)"))` → `\(escape(change.newOptions ?? "(none)"))`"
          }
        out += "| `\(symbol)` | `\(escape(change.target))` | \(options) |\n"
      }
      return out + "\n</details>\n\n"
    }
    return MarkdownParts(kind: "diff", digest: digest, limit: limit).split(
      head: head, sections: sections,
      foot: "_No host was contacted: this is the manifests' access, before and after._\n")
  }

  private func escape(_ text: String) -> String { MarkdownText.escape(text) }
}

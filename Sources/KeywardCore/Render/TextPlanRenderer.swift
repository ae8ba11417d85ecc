import AuthorizedKeys

/// Renders a plan for people: one block per changed target with `+`/`-`/`~` lines,
/// a legend, failed targets apart, and Terraform's closing summary line.
///
/// Every value that came from a manifest or a host (names, comments, options, reasons, the text
/// of invalid lines, host errors) goes through `Echo`: control characters escaped, length capped.
public struct TextPlanRenderer: Sendable {
  /// ANSI colour; callers decide (terminal, `NO_COLOR`, `--no-color`).
  public var color: Bool

  public init(color: Bool = false) {
    self.color = color
  }

  public func render(_ plan: Plan) -> String {
    var out = ""
    let changed = plan.targets.filter { $0.status == .changes }
    let failed = plan.targets.filter { $0.status == .error }
    let used = Set(changed.flatMap { $0.changes.map(\.action) + $0.lineChanges.map(\.action) })
    if !changed.isEmpty {
      let legend = ChangeAction.allCases.filter { used.contains($0) }.map { action in
        paint(action.symbol, for: action) + " " + action.rawValue
      }
      if !legend.isEmpty {
        out += "Symbols: " + legend.joined(separator: ", ") + ", * file or directory\n\n"
      } else {
        out += "Symbols: * file or directory\n\n"
      }
    }
    for target in changed {
      let asRoot = (target.runsAsRoot ? ", as root" : "") + (target.allowOutsideHome ? ", outside home" : "")
      out +=
        bold(
          "\(Echo.value(target.id.description)) (\(Echo.value(target.id.path)), \(target.mode.rawValue)\(asRoot))"
        ) + Self.origins(target) + "\n"
      for action in target.fileActions {
        out += "  * " + Echo.message(action.summary) + "\n"
      }
      for change in target.changes {
        out += "  " + paint(change.action.symbol, for: change.action) + " " + describe(change) + "\n"
        if change.action == .update {
          if change.oldOptions != change.newOptions {
            out += "      options: \(quoted(change.oldOptions)) -> \(quoted(change.newOptions))\n"
          }
          if change.oldComment != change.newComment {
            out += "      comment: \(quoted(change.oldComment)) -> \(quoted(change.newComment))\n"
          }
          if change.oldOptions == change.newOptions && change.oldComment == change.newComment {
            out += "      line rewritten, same options and comment\n"
          }
        } else if change.action == .add, let options = change.newOptions {
          out += "      options: \(Echo.value(options, limit: 400))\n"
        }
      }
      for line in target.lineChanges {
        out +=
          "  " + paint(line.action.symbol, for: line.action) + " line \(line.line) (\(line.kind.rawValue)): "
          + line.text + "\n"
      }
      for warning in target.warnings {
        out += "  ! " + Echo.message(warning) + "\n"
      }
      out += "\n"
    }
    let warnedOnly = plan.targets.filter {
      $0.status == .unchanged && (!$0.warnings.isEmpty || $0.history == .changed)
    }
    for target in warnedOnly {
      out += bold("\(Echo.value(target.id.description)) (no changes)") + "\n"
      if target.history == .changed {
        out += "  ! the file changed on the host since keyward last wrote it; the plan keeps those lines\n"
      }
      for warning in target.warnings { out += "  ! " + Echo.message(warning) + "\n" }
      out += "\n"
    }
    if !failed.isEmpty {
      out += paint("Failed targets (nothing will be written to them):", error: true) + "\n"
      for target in failed {
        out += "  \(Echo.value(target.id.description)): \(Echo.message(target.error ?? "unknown error"))\n"
      }
      out += "\n"
    }
    let asRoot = plan.targets.filter { $0.runsAsRoot && $0.status != .error }
    if !asRoot.isEmpty {
      out +=
        "Acting as root (act_as_root: the host cannot act as these users): "
        + asRoot.map { Echo.value($0.id.description) }.joined(separator: ", ") + "\n\n"
    }
    for error in plan.errors {
      out += paint("Error: ", error: true) + Echo.message(error) + "\n"
    }
    if changed.isEmpty && failed.isEmpty && plan.errors.isEmpty {
      out += "No changes. Every target matches the manifests.\n"
    }
    out += Self.transportLines(plan)
    if let origins = plan.summary.originLine { out += origins + "\n" }
    out += plan.summary.line + "\n"
    return out
  }

  private func describe(_ change: KeyChange) -> String {
    var text =
      "\(Echo.value(change.type)) \(Echo.value(change.fingerprint)) "
      + (change.keyName.map { "'\(Echo.value($0))'" } ?? "(unmanaged)")
    if let line = change.line { text += " line \(line)" }
    let origin = change.origin.map { $0.rawValue + ": " } ?? ""
    return text + "  # " + origin + Echo.message(change.reason)
  }

  /// ` [2 intent, 1 drift]` for a target header; empty when no change has an origin.
  static func origins(_ target: TargetPlan) -> String {
    let parts = ChangeOrigin.allCases.compactMap { origin -> String? in
      let n = target.count(origin)
      return n > 0 ? "\(n) \(origin.rawValue)" : nil
    }
    return parts.isEmpty ? "" : " [" + parts.joined(separator: ", ") + "]"
  }

  private func quoted(_ text: String?) -> String {
    guard let text, !text.isEmpty else { return "(none)" }
    return Echo.value(text, limit: 400)
  }

  private func paint(_ text: String, for action: ChangeAction) -> String {
    guard color else { return text }
    let code =
      switch action {
      case .add: "32"
      case .remove: "31"
      case .update: "33"
      }
    return "\u{1B}[\(code)m\(text)\u{1B}[0m"
  }

  private func paint(_ text: String, error: Bool) -> String {
    color ? "\u{1B}[31m\(text)\u{1B}[0m" : text
  }

  private func bold(_ text: String) -> String {
    color ? "\u{1B}[1m\(text)\u{1B}[0m" : text
  }

  /// `Transport: openssh for lab2, lab3 (why)`, one line per transport and reason; nothing for a
  /// plan made without SSH, or when every host is served by libssh2 as `auto` chose (JSON
  /// always lists every host).
  static func transportLines(_ plan: Plan) -> String {
    guard plan.transports.values.contains(where: { !$0.isDefault }) else { return "" }
    var groups: [TransportChoice: [String]] = [:]
    for (host, choice) in plan.transports { groups[choice, default: []].append(host) }
    let lines = groups.map { choice, hosts in
      "Transport: \(choice.transport.rawValue) for \(NaturalOrder.sorted(hosts).map { Echo.value($0) }.joined(separator: ", "))"
        + " (\(Echo.message(choice.reason)))"
    }
    return lines.sorted().map { $0 + "\n" }.joined()
  }
}

/// The waves of a rollout as the plan shows them.
public enum RolloutText {
  /// `Rollout 1,3,100%: 3 waves over 10 hosts` and one line per wave.
  public static func render(_ rollout: Rollout, waves: [[String]], hostsWhich: String = "with changes")
    -> String
  {
    let hosts = waves.reduce(0) { $0 + $1.count }
    var out =
      "\nRollout \(rollout): \(waves.count) wave\(waves.count == 1 ? "" : "s") over \(hosts) host\(hosts == 1 ? "" : "s") \(hostsWhich)\n"
    for (index, wave) in waves.enumerated() {
      out += "  wave \(index + 1): \(hostList(wave))\n"
    }
    return out
  }

  /// Up to eight names, then a count.
  static func hostList(_ hosts: [String]) -> String {
    let shown = hosts.prefix(8).joined(separator: ", ")
    return hosts.count > 8 ? "\(shown) and \(hosts.count - 8) more" : shown
  }

  /// The rollout of `plan` for a pull-request comment: a heading line and one item per wave.
  public static func markdown(_ plan: Plan) -> String {
    guard let rollout = plan.rollout else { return "" }
    let waves = RolloutApplier(rollout: rollout).waves(plan)
    guard !waves.isEmpty else { return "" }
    let hosts = waves.reduce(0) { $0 + $1.count }
    var out =
      "**Rollout `\(rollout)`**: \(waves.count) wave\(waves.count == 1 ? "" : "s") over \(hosts) host\(hosts == 1 ? "" : "s") with changes\n\n"
    for (index, wave) in waves.enumerated() {
      out += "\(index + 1). " + wave.map { "`\(MarkdownText.escape($0))`" }.joined(separator: ", ") + "\n"
    }
    return out + "\n"
  }

  /// The rollout of `plan` for people, or nothing when it has none (or nothing to change).
  public static func text(_ plan: Plan) -> String {
    guard let rollout = plan.rollout else { return "" }
    let waves = RolloutApplier(rollout: rollout).waves(plan)
    return waves.isEmpty ? "" : render(rollout, waves: waves)
  }
}

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
}

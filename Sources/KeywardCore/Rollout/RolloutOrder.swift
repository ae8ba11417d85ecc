/// The order hosts take their turn in a rollout: hosts marked `canary: true` first, then by
/// `tier` ascending (hosts without a tier after every tier), each group in natural order of
/// names (`lab2` before `lab10`).
public enum RolloutOrder {
  /// Every host of `hosts` in rollout order.
  public static func hosts(_ hosts: [String: HostSpec]) -> [String] {
    order(hosts.keys, specs: hosts)
  }

  /// `names` in rollout order, using the canary and tier marks of `specs`.
  public static func order(_ names: some Sequence<String>, specs: [String: HostSpec]) -> [String] {
    names.sorted { lhs, rhs in
      let (a, b) = (rank(specs[lhs]), rank(specs[rhs]))
      if a != b { return a < b }
      return NaturalOrder.less(lhs, rhs)
    }
  }

  /// Canaries (0) before tiers (1, tier) before the rest (2).
  private static func rank(_ spec: HostSpec?) -> Rank {
    if spec?.canary == true { return Rank(group: 0, tier: 0) }
    if let tier = spec?.tier { return Rank(group: 1, tier: tier) }
    return Rank(group: 2, tier: 0)
  }

  private struct Rank: Comparable {
    var group: Int
    var tier: Int
    static func < (lhs: Rank, rhs: Rank) -> Bool { (lhs.group, lhs.tier) < (rhs.group, rhs.tier) }
  }
}

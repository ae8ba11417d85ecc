/// A staged rollout: the sizes of its waves (`1,10%,100%`), each a number of hosts or a share
/// of all the hosts to change. The last size repeats until every host had its turn.
public struct Rollout: Hashable, Sendable, CustomStringConvertible {
  /// One wave's size.
  public enum Size: Hashable, Sendable, CustomStringConvertible {
    case hosts(Int)
    case percent(Int)

    public var description: String {
      switch self {
      case .hosts(let count): return String(count)
      case .percent(let share): return "\(share)%"
      }
    }

    /// How many of `total` hosts this wave takes (a share rounds up; at least one).
    func count(of total: Int) -> Int {
      switch self {
      case .hosts(let count): return count
      case .percent(let share): return max(1, (total * share + 99) / 100)
      }
    }
  }

  public var sizes: [Size]

  public init(sizes: [Size]) {
    self.sizes = sizes
  }

  /// Parses `1,3,100%` (whole numbers of hosts, or shares from 1% to 100%).
  public init(parsing text: String) throws(RolloutError) {
    var sizes: [Size] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let item = part.trimmingCharacters(in: .whitespaces)
      let isPercent = item.hasSuffix("%")
      let digits = isPercent ? String(item.dropLast()) : item
      guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
        let value = Int(digits), value > 0
      else {
        throw RolloutError(
          "rollout wave '\(KeySource.display(String(item)))' is not a number of hosts or a share like '10%'")
      }
      if isPercent && value > 100 { throw RolloutError("rollout wave '\(item)' is more than 100%") }
      sizes.append(isPercent ? .percent(value) : .hosts(value))
    }
    guard !sizes.isEmpty else { throw RolloutError("a rollout needs at least one wave, e.g. '1,10%,100%'") }
    self.sizes = sizes
  }

  public var description: String { sizes.map(\.description).joined(separator: ",") }

  /// Splits `hosts` (already in rollout order) into waves.
  public func waves(_ hosts: [String]) -> [[String]] {
    var waves: [[String]] = []
    var start = 0
    var index = 0
    while start < hosts.count {
      let size = sizes[min(index, sizes.count - 1)].count(of: hosts.count)
      let end = min(hosts.count, start + size)
      waves.append(Array(hosts[start..<end]))
      start = end
      index += 1
    }
    return waves
  }

  /// The rollout order of host names: natural order, so `lab2` comes before `lab10`.
  public static func order(_ hosts: some Sequence<String>) -> [String] {
    NaturalOrder.sorted(hosts)
  }
}

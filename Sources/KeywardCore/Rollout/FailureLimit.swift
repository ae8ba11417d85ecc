/// How many targets of a wave may fail (to write, or stale) before the rollout stops:
/// a count (`2`) or a share of the wave's targets (`10%`). A failed login check always stops it.
public enum FailureLimit: Hashable, Sendable, CustomStringConvertible {
  case targets(Int)
  case percent(Int)

  /// Parses `0`, `2` or `10%`.
  public init(parsing text: String) throws(RolloutError) {
    let isPercent = text.hasSuffix("%")
    let digits = isPercent ? String(text.dropLast()) : text
    guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
      let value = Int(digits), !isPercent || value <= 100
    else {
      throw RolloutError(
        "--max-failures '\(KeySource.display(text))' is not a number of targets or a share like '10%'")
    }
    self = isPercent ? .percent(value) : .targets(value)
  }

  public var description: String {
    switch self {
    case .targets(let count): return String(count)
    case .percent(let share): return "\(share)%"
    }
  }

  /// Whether `failures` of `total` targets stay within the limit.
  public func allows(_ failures: Int, of total: Int) -> Bool {
    switch self {
    case .targets(let count): return failures <= count
    case .percent(let share): return failures * 100 <= share * total
    }
  }
}

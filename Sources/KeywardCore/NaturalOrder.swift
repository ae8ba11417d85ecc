/// Host names in the order people count them: runs of digits compare as numbers, so `lab2`
/// comes before `lab10`. Plans, reports and rollout waves list hosts in this order.
public enum NaturalOrder {
  /// Whether `lhs` comes before `rhs` (ties broken by plain string order, so the order is total).
  public static func less(_ lhs: String, _ rhs: String) -> Bool {
    let (a, b) = (chunks(lhs), chunks(rhs))
    for (x, y) in zip(a, b) where x != y {
      if let m = Int(x), let n = Int(y), m != n { return m < n }
      return x < y
    }
    return a.count != b.count ? a.count < b.count : lhs < rhs
  }

  /// `names` in natural order.
  public static func sorted(_ names: some Sequence<String>) -> [String] {
    names.sorted(by: less)
  }

  private static func chunks(_ text: String) -> [String] {
    var result: [String] = []
    var current = ""
    var digits = false
    for character in text {
      let isDigit = character.isASCII && character.isNumber
      if !current.isEmpty && isDigit != digits {
        result.append(current)
        current = ""
      }
      digits = isDigit
      current.append(character)
    }
    if !current.isEmpty { result.append(current) }
    return result
  }
}

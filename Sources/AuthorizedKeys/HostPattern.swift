/// OpenSSH's host pattern matching (`match.c`): `*` and `?` wildcards, comma-separated lists
/// with `!` negation, ASCII case folding of the pattern (and of the host for host names).
///
/// Works on bytes, as OpenSSH does: a name that is not UTF-8 matches only byte for byte.
public enum HostPattern {
  /// `match_pattern()`: whether `string` matches the single pattern `pattern` (`*` matches any
  /// run of bytes, `?` exactly one byte, everything else itself).
  public static func matches(_ string: some Collection<UInt8>, pattern: some Collection<UInt8>) -> Bool {
    let s = Array(string)
    let p = Array(pattern)
    return s.withUnsafeBufferPointer { sb in p.withUnsafeBufferPointer { pb in glob(sb, pb) } }
  }

  /// Iterative glob with one backtracking point: equivalent to OpenSSH's recursive
  /// `match_pattern()` (a later `*` only ever needs the most recent one to retry).
  static func glob(_ s: UnsafeBufferPointer<UInt8>, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
    var si = 0
    var pi = 0
    var star = -1
    var mark = 0
    while si < s.count {
      if pi < p.count, p[pi] == UInt8(ascii: "*") {
        star = pi
        pi += 1
        mark = si
      } else if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
        si += 1
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        si = mark
      } else {
        return false
      }
    }
    while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
    return pi == p.count
  }

  /// How a name fares against a pattern list.
  public enum ListMatch: Sendable, Equatable {
    /// No sub-pattern matched.
    case none
    /// A positive sub-pattern matched and no negated one did.
    case positive
    /// A negated sub-pattern (`!pattern`) matched: the list refuses the name.
    case negated
  }

  /// `match_pattern_list(string, list, dolower)`: comma-separated sub-patterns, each optionally
  /// negated with a leading `!`; a negated match wins over any positive one. With `lowercase`,
  /// ASCII upper case in the patterns is folded (the string is taken as given). A sub-pattern of
  /// 1,023 bytes or more makes the whole list match nothing, as in OpenSSH.
  public static func matchList(
    _ string: some Collection<UInt8>, list: some Collection<UInt8>, lowercase: Bool
  )
    -> ListMatch
  {
    let s = Array(string)
    let l = Array(list)
    var gotPositive = false
    var i = 0
    var sub: [UInt8] = []
    sub.reserveCapacity(64)
    while i < l.count {
      var negated = false
      if l[i] == UInt8(ascii: "!") {
        negated = true
        i += 1
      }
      sub.removeAll(keepingCapacity: true)
      while i < l.count, l[i] != UInt8(ascii: ","), sub.count < 1023 {
        sub.append(lowercase ? lower(l[i]) : l[i])
        i += 1
      }
      if sub.count >= 1023 { return .none }
      if i < l.count, l[i] == UInt8(ascii: ",") { i += 1 }
      let hit = s.withUnsafeBufferPointer { sb in sub.withUnsafeBufferPointer { pb in glob(sb, pb) } }
      if hit {
        if negated { return .negated }
        gotPositive = true
      }
    }
    return gotPositive ? .positive : .none
  }

  /// `match_hostname()`: the host is lowercased, then matched against the list with the
  /// pattern lowercased too.
  public static func matchHostname(_ host: some Collection<UInt8>, list: some Collection<UInt8>) -> ListMatch
  {
    matchList(host.map(lower), list: list, lowercase: true)
  }

  /// ASCII lower case of one byte (C locale `tolower`).
  @inline(__always)
  public static func lower(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
  }

  /// Whether a pattern list holds only literal names: no wildcard and no negation, so it matches
  /// exactly the names it lists (lowercased).
  static func literalNames(_ list: ArraySlice<UInt8>) -> [[UInt8]]? {
    var names: [[UInt8]] = []
    for part in list.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
      guard part.count < 1023, !part.contains(where: { $0 == 0x2A || $0 == 0x3F || $0 == 0x21 }) else {
        return nil
      }
      names.append(part.map(lower))
    }
    return names
  }
}

import AuthorizedKeys
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// sshd's pattern lists (`match.c`): `*` and `?` wildcards, `!` negation, comma-separated, and
/// `addr_match_list`'s CIDR entries for addresses.
public enum SSHDPattern {
  /// `match_pattern`: `*` any run, `?` one byte (sshd matches bytes, as ``HostPattern`` does).
  public static func wildcard(_ string: Substring, _ pattern: Substring) -> Bool {
    HostPattern.matches(string.utf8, pattern: pattern.utf8)
  }

  /// `match_pattern_list`: 1 when a positive pattern matches, -1 when a negated one does
  /// (negation wins), 0 otherwise.
  public static func matchList(_ string: String, _ list: String, caseInsensitive: Bool = false) -> Int {
    let subject = caseInsensitive ? string.lowercased() : string
    var got = 0
    for item in list.split(separator: ",", omittingEmptySubsequences: false) {
      var pattern = Substring(caseInsensitive ? item.lowercased() : String(item))
      let negated = pattern.hasPrefix("!")
      if negated { pattern = pattern.dropFirst() }
      if wildcard(Substring(subject), pattern) {
        if negated { return -1 }
        got = 1
      }
    }
    return got
  }

  /// An `AllowUsers`/`DenyUsers` word: `USER` or `USER@HOST` (the host part matched against the
  /// client address only; host names are not resolved here).
  static func userMatches(_ pattern: String, user: String, address: String?) -> Bool {
    if let at = pattern.lastIndex(of: "@") {
      guard wildcard(Substring(user), pattern[..<at]) else { return false }
      guard let address else { return true }
      return addressList(address, String(pattern[pattern.index(after: at)...])) == 1
    }
    return wildcard(Substring(user), Substring(pattern))
  }

  /// `addr_match_list`: 1 match, 0 none, -1 negated match, -2 malformed entry.
  public static func addressList(_ address: String, _ list: String) -> Int {
    guard let addr = IPAddress(address) else { return 0 }
    var got = 0
    for item in list.split(separator: ",", omittingEmptySubsequences: false) {
      var entry = item
      let negated = entry.hasPrefix("!")
      if negated { entry = entry.dropFirst() }
      let matched: Bool
      if let slash = entry.firstIndex(of: "/") {
        guard let net = IPAddress(String(entry[..<slash])),
          let bits = Int(entry[entry.index(after: slash)...]),
          bits >= 0, bits <= net.bytes.count * 8
        else { return -2 }
        // sshd refuses a CIDR whose host bits are set.
        guard net.masked(bits) == net else { return -2 }
        matched = addr.bytes.count == net.bytes.count && addr.masked(bits) == net
      } else if entry.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }), IPAddress(String(entry)) != nil
      {
        matched = IPAddress(String(entry)) == addr
      } else {
        matched = wildcard(Substring(address), entry)
      }
      if matched {
        if negated { return -1 }
        got = 1
      }
    }
    return got
  }
}

/// An IPv4 or IPv6 address as bytes.
struct IPAddress: Equatable {
  var bytes: [UInt8]

  init?(_ text: String) {
    if text.contains(":") {
      var parsed = in6_addr()
      guard inet_pton(AF_INET6, text, &parsed) == 1 else { return nil }
      bytes = withUnsafeBytes(of: &parsed) { Array($0) }
    } else {
      var parsed = in_addr()
      guard inet_pton(AF_INET, text, &parsed) == 1 else { return nil }
      bytes = withUnsafeBytes(of: &parsed) { Array($0) }
    }
  }

  func masked(_ bits: Int) -> IPAddress {
    var copy = self
    for i in 0..<copy.bytes.count {
      let keep = max(0, min(8, bits - i * 8))
      copy.bytes[i] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
    }
    return copy
  }
}

import AuthorizedKeys
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Options that parse but can never work in sshd 9.2, checked on the options one line gets
/// (a key's own merged with its rule's).
enum OptionRules {
  /// Why `options` could never work on one authorized_keys line, or `nil`.
  static func problem(_ options: [KeyOption]) -> String? {
    let names = Set(options.map { $0.name.lowercased() })
    if names.contains("principals") && !names.contains("cert-authority") {
      return "option 'principals' works only with 'cert-authority'; sshd refuses the line otherwise"
    }
    for option in options where option.name.lowercased() == "from" {
      if let bad = badNetwork(in: option.value ?? "") {
        return
          "'\(bad)' in option 'from' is not a network sshd can match: write ADDRESS/BITS with at most"
          + " 32 bits for IPv4 and 128 for IPv6, and no bits set after the prefix"
      }
    }
    return nil
  }

  /// The first entry of a `from` list that sshd's `addr_match_list` treats as an error or can
  /// never match: an empty entry, or an address with a `/` mask that is not a valid CIDR network.
  static func badNetwork(in list: String) -> String? {
    for raw in list.split(separator: ",", omittingEmptySubsequences: false) {
      let entry = raw.hasPrefix("!") ? raw.dropFirst() : raw[...]
      if entry.isEmpty { return String(raw) }
      guard let slash = entry.firstIndex(of: "/") else { continue }
      let address = String(entry[..<slash])
      let bits = entry[entry.index(after: slash)...]
      guard !bits.isEmpty, bits.count <= 3, bits.allSatisfy({ $0.isASCII && $0.isNumber }),
        let length = Int(bits)
      else { return String(raw) }
      guard let bytes = addressBytes(address), length <= bytes.count * 8 else { return String(raw) }
      // Host bits after the prefix must be zero (sshd: "inconsistent mask length").
      for bit in length..<(bytes.count * 8) where bytes[bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 {
        return String(raw)
      }
    }
    return nil
  }

  /// The 4 or 16 bytes of an IPv4 or IPv6 address in numeric form, or `nil`.
  static func addressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      return withUnsafeBytes(of: &v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { Array($0) }
    }
    return nil
  }
}

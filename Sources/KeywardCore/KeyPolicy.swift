import AuthorizedKeys

/// The manifest's `policy` as the planner needs it: which keys may be written at all. The
/// manifest checks its own keys at load; rollback checks the keys of a backup with the same rules.
public struct KeyPolicy: Hashable, Sendable {
  /// Canonical type names allowed (`ssh-rsa` covers `rsa-sha2-256`/`rsa-sha2-512`).
  public var allowedTypes: [String]
  public var minRSABits: Int

  /// The policy of a manifest that sets none: every type but DSA, RSA of 2048 bits or more.
  public static let standard = KeyPolicy(
    allowedTypes: ManifestResolver.defaultAllowedTypes, minRSABits: ManifestResolver.defaultMinRSABits)

  public init(allowedTypes: [String], minRSABits: Int) {
    self.allowedTypes = allowedTypes
    self.minRSABits = minRSABits
  }

  /// Why `key` may not be written, or nil.
  public func problem(_ key: PublicKey) -> String? {
    let type = key.algorithm.plain.plainName
    if !allowedTypes.contains(type) {
      return "its type '\(type)' is not allowed by 'policy.allowed_types'"
    }
    if type == "ssh-rsa" && key.bits < minRSABits {
      return "it is a \(key.bits)-bit RSA key; 'policy.min_rsa_bits' requires at least \(minRSABits)"
    }
    return nil
  }
}

import Crypto

/// The digest that compare-and-swap compares: SHA-256 hex of a file's bytes, or `absent`.
public enum ContentDigest {
  /// The digest of a file that does not exist.
  public static let absent = "absent"

  /// SHA-256 hex of `content`, or `absent` for `nil`.
  public static func of(_ content: [UInt8]?) -> String {
    guard let content else { return absent }
    return SHA256.hash(data: content).map { byte in
      let hex = String(byte, radix: 16)
      return byte < 16 ? "0" + hex : hex
    }.joined()
  }
}

import Crypto
import Foundation

/// An OpenSSH public key: its type as written on the line and its decoded blob.
///
/// Two values are equal when they hold the same key material (canonical type and blob),
/// whatever type alias was written on the line: that is "the same key" for sshd.
public struct PublicKey: Hashable, Sendable {
  /// The type token as written on the line, e.g. `ssh-ed25519` or `rsa-sha2-512`.
  public let type: String
  /// The base64 text of the blob as written (whitespace removed).
  public let base64: String
  /// The decoded wire-format blob.
  public let blob: [UInt8]

  /// Parses a `type base64` pair.
  public init(type: String, base64: some StringProtocol) throws(KeyError) {
    let text = String(base64).filter { !$0.isWhitespace }
    guard let data = Data(base64Encoded: text) else { throw KeyError.invalidBase64 }
    self.type = type
    self.base64 = text
    self.blob = Array(data)
  }

  /// Parses `type base64 [comment]`; the comment is ignored.
  public init(parsing text: String) throws(KeyError) {
    let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard fields.count >= 2 else { throw KeyError.missingBlob }
    try self.init(type: String(fields[0]), base64: fields[1])
  }

  /// The fingerprint as `ssh-keygen -l -E sha256` prints it.
  public var fingerprint: String {
    let digest = SHA256.hash(data: blob)
    var text = Data(digest).base64EncodedString()
    while text.hasSuffix("=") { text.removeLast() }
    return "SHA256:" + text
  }

  public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.blob == rhs.blob }
  public func hash(into hasher: inout Hasher) { hasher.combine(blob) }
}

import AuthorizedKeys
import Foundation

/// The manifest's view of the AuthorizedKeys codec: parse key text and options text,
/// describe a key for policy checks. The one place in the manifest code that calls the
/// codec's parsers.
enum KeyCodec {
  /// What the policy looks at.
  struct Facts: Sendable {
    /// The canonical type name (`ssh-rsa` for an `rsa-sha2-512` line).
    var type: String
    var bits: Int?
    var isCertificate: Bool
  }

  /// Parses `type base64 [comment]` (surrounding whitespace ignored); returns the key and its comment.
  static func parseKey(_ text: String) throws -> (key: PublicKey, comment: String?) {
    let bytes = Array(text.utf8)
    func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
    var start = 0
    var end = bytes.count
    while start < end, isBlank(bytes[start]) { start += 1 }
    while end > start, isBlank(bytes[end - 1]) { end -= 1 }
    let line = String(decoding: bytes[start..<end], as: UTF8.self)
    let key = try PublicKey(parsing: line)
    // The comment: whatever follows the second field.
    var index = start
    for _ in 0..<2 {
      while index < end, !isBlank(bytes[index]) { index += 1 }
      while index < end, isBlank(bytes[index]) { index += 1 }
    }
    let comment = index < end ? String(decoding: bytes[index..<end], as: UTF8.self) : nil
    return (key, comment)
  }

  static func facts(_ key: PublicKey) -> Facts {
    Facts(type: key.algorithm.plain.plainName, bits: key.bits, isCertificate: key.isCertificate)
  }

  /// A codec error as a phrase for a diagnostic.
  static func describe(_ error: any Error) -> String {
    "\(error)"
  }

  /// A codec error as a phrase that repeats nothing of the text it was given (for key files,
  /// whose lines may be anything: a private key, a secret).
  static func describeWithoutContent(_ error: any Error) -> String {
    guard let error = error as? KeyError else { return "not a key line" }
    switch error {
    case .unknownKeyType: return "the line does not start with a known key type"
    case .missingBlob: return "the key type is not followed by a base64 key blob"
    case .invalidBase64: return "the key blob is not valid base64"
    case .unknownBlobType: return "the key blob holds an unknown key type"
    case .typeMismatch: return "the key type does not match the type inside the key blob"
    case .curveMismatch: return "the ecdsa key blob names another curve than its type"
    default: return error.description
    }
  }

  /// Options as sshd reads them: `restrict,command="..."`.
  static func render(_ options: [KeyOption]) -> String {
    KeyOptions.render(options)
  }

  /// Parses sshd options text (`restrict,command="..."`) with sshd's own grammar.
  static func parseOptions(_ text: String) throws -> [KeyOption] {
    try KeyOptions.parse(text)
  }

  /// Checks options as sshd would read them once written: values, duplicates, round trip.
  static func check(_ options: [KeyOption]) -> String? {
    do {
      try KeyOptions.check(options)
      return nil
    } catch {
      return "\(error)"
    }
  }
}

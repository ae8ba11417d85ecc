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

  /// Parses `type base64 [comment]`; returns the key and its comment.
  static func parseKey(_ text: String) throws -> (key: PublicKey, comment: String?) {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    let key = try PublicKey(parsing: trimmed)
    let fields = trimmed.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
    let comment = fields.count == 3 ? fields[2].trimmingCharacters(in: .whitespaces) : nil
    return (key, comment?.isEmpty == false ? comment : nil)
  }

  static func facts(_ key: PublicKey) -> Facts {
    Facts(type: key.algorithm.plain.plainName, bits: key.bits, isCertificate: key.isCertificate)
  }

  /// A codec error as a phrase for a diagnostic.
  static func describe(_ error: any Error) -> String {
    "\(error)"
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

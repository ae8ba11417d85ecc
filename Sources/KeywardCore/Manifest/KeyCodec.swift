import AuthorizedKeys
import Foundation

/// The manifest's view of the AuthorizedKeys codec: parse key text and options text,
/// describe a key for policy checks. The one place that calls the codec's parsers.
enum KeyCodec {
  /// What the policy looks at.
  struct Facts: Sendable {
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
    Facts(type: key.type, bits: nil, isCertificate: key.type.contains("-cert-v01@"))
  }

  /// A codec error as a lowercase phrase for a diagnostic.
  static func describe(_ error: any Error) -> String {
    "\(error)".lowercased()
  }

  /// Options as sshd writes them: `restrict,command="..."`.
  static func render(_ options: [KeyOption]) -> String {
    options.map { option in option.value.map { "\(option.name)=\"\($0)\"" } ?? option.name }.joined(
      separator: ",")
  }

  /// Parses sshd options text (`restrict,command="..."`).
  static func parseOptions(_ text: String) throws -> [KeyOption] {
    text.split(separator: ",").map { part in
      let pieces = part.split(separator: "=", maxSplits: 1)
      return KeyOption(
        name: String(pieces[0]),
        value: pieces.count > 1
          ? String(pieces[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) : nil)
    }
  }
}

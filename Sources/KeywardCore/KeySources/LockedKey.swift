import AuthorizedKeys

/// One key a source served, as pinned in `keyward.lock`.
public struct LockedKey: Hashable, Sendable {
  public var key: PublicKey
  /// The comment the source gave the key (GitHub and GitLab give none).
  public var comment: String?

  public init(key: PublicKey, comment: String? = nil) {
    self.key = key
    self.comment = comment
  }

  /// The canonical type name, e.g. `ssh-ed25519`.
  public var type: String { key.algorithm.plain.plainName }
  public var fingerprint: String { key.fingerprint }
  /// `type base64`, as on an authorized_keys line.
  public var material: String { key.type + " " + key.base64 }

  /// Parses a source's response body: one key per line (`type base64 [comment]`); blank lines
  /// and `#` lines are skipped. Anything else fails the whole body: a line that is not a key,
  /// a key with options in front, a certificate, text that is not UTF-8. Repeated keys count once.
  public static func parseBody(_ bytes: [UInt8]) throws(KeySourceError) -> [LockedKey] {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw KeySourceError("the response is not UTF-8 text")
    }
    if bytes.contains(0) { throw KeySourceError("the response holds a NUL byte") }
    var keys: [LockedKey] = []
    var seen: Set<PublicKey> = []
    for (index, raw) in text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }
    )
    .enumerated() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      let parsed: (key: PublicKey, comment: String?)
      do {
        parsed = try KeyCodec.parseKey(trimmed)
      } catch {
        throw KeySourceError(
          "line \(index + 1) is not an OpenSSH public key ('\(DisplayText(trimmed, limit: 40))')")
      }
      if parsed.key.isCertificate {
        throw KeySourceError("line \(index + 1) is a certificate ('\(parsed.key.type)'), not a plain key")
      }
      if let comment = parsed.comment,
        comment.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
      {
        throw KeySourceError("line \(index + 1) has control characters in its comment")
      }
      if seen.insert(parsed.key).inserted { keys.append(LockedKey(key: parsed.key, comment: parsed.comment)) }
    }
    return keys
  }
}

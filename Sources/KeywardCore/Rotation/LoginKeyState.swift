import AuthorizedKeys

/// Where one account stands in a rotation of keyward's login key, read from its file alone:
/// the file on the host is the whole state, so an interrupted rotation resumes from it.
public enum LoginKeyState: String, Hashable, Sendable, Codable {
  /// Only the old key: the new one must be added.
  case oldOnly = "old-only"
  /// Both keys: the new one must be proven by a fresh login, then the old one removed.
  case both
  /// Only the new key: rotated.
  case newOnly = "new-only"
  /// Neither key (the login key is authorized some other way, or the file is missing).
  case neither

  /// The state of `content` for the old keys `old` (fingerprints) and the new key `new`.
  public init(content: [UInt8]?, old: Set<String>, new: PublicKey) {
    let entries = AuthorizedKeysFile(bytes: content ?? []).entries
    let hasOld = entries.contains { old.contains($0.key.fingerprint) }
    let hasNew = entries.contains { $0.key == new }
    switch (hasOld, hasNew) {
    case (true, false): self = .oldOnly
    case (true, true): self = .both
    case (false, true): self = .newOnly
    case (false, false): self = .neither
    }
  }
}

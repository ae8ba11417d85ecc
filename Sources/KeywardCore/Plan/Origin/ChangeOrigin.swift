/// Why a change is in a plan, as told by the record keyward keeps in each file it writes
/// (`WriteRecord`).
///
/// Display only, like `KeyChange.reason`: the origin never steers apply.
public enum ChangeOrigin: String, Hashable, Sendable, Codable, CaseIterable {
  /// The manifests changed what the target should hold since keyward last wrote the file
  /// (a key granted, revoked, expired, no longer granted, new options).
  case intent
  /// The file changed on the host since keyward last wrote it (a hand edit, another tool),
  /// and this change undoes that.
  case drift
  /// The file holds no record of what keyward last wrote (never written by keyward, written
  /// by an older keyward, or the record was removed).
  case unknown
}

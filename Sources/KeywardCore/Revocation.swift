/// A key that must leave every target, in every mode.
public struct Revocation: Hashable, Sendable {
  /// `SHA256:...` fingerprint of the revoked key.
  public var fingerprint: String
  /// The manifest name of the key, when it was revoked by name.
  public var keyName: String?
  public var reason: String
  public var location: SourceLocation?

  public init(fingerprint: String, keyName: String? = nil, reason: String, location: SourceLocation? = nil) {
    self.fingerprint = fingerprint
    self.keyName = keyName
    self.reason = reason
    self.location = location
  }
}

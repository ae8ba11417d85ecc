/// One change to one key line of a target's file.
///
/// Everything except `action` and the line data is for display: `reason` and the
/// provenance never steer apply, which writes the bytes of the plan.
public struct KeyChange: Hashable, Sendable, Codable {
  public var action: ChangeAction
  /// `SHA256:...` of the key.
  public var fingerprint: String
  /// The key type as written (e.g. `ssh-ed25519`).
  public var type: String
  /// The manifest name of the key, or `nil` for a key the manifests do not know.
  public var keyName: String?
  /// Why: the access rule, the revocation, the expiry, or "not declared".
  public var reason: String
  /// The 1-based line of the observed file this change touches (remove, update).
  public var line: Int?
  /// Options before and after, rendered (update and add).
  public var oldOptions: String?
  public var newOptions: String?
  /// Comments before and after (update and add).
  public var oldComment: String?
  public var newComment: String?
  /// Intent, drift or unknown (`OriginClassifier`); `nil` in plans made before keyward kept records.
  public var origin: ChangeOrigin?

  public init(
    action: ChangeAction, fingerprint: String, type: String, keyName: String?, reason: String,
    line: Int? = nil, oldOptions: String? = nil, newOptions: String? = nil, oldComment: String? = nil,
    newComment: String? = nil, origin: ChangeOrigin? = nil
  ) {
    self.action = action
    self.fingerprint = fingerprint
    self.type = type
    self.keyName = keyName
    self.reason = reason
    self.line = line
    self.oldOptions = oldOptions
    self.newOptions = newOptions
    self.oldComment = oldComment
    self.newComment = newComment
    self.origin = origin
  }
}

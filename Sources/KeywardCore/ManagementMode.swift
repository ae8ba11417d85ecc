/// How a target's file is managed.
public enum ManagementMode: String, Hashable, Sendable, Codable, CaseIterable {
  /// The file holds exactly the declared keys; every other key line is removed.
  case exclusive
  /// Declared keys are added; other keys stay unless revoked or expired.
  case additive
}

/// Terraform's small action vocabulary, one symbol each.
public enum ChangeAction: String, Hashable, Sendable, Codable, CaseIterable {
  /// A key line is appended.
  case add
  /// A key line is removed.
  case remove
  /// Same key, new options or comment, in place.
  case update

  /// The symbol shown in plans.
  public var symbol: String {
    switch self {
    case .add: "+"
    case .remove: "-"
    case .update: "~"
    }
  }
}

/// The outcome of planning one target.
public enum TargetStatus: String, Hashable, Sendable, Codable {
  /// Nothing to do: no write will happen.
  case unchanged
  /// The file will be written.
  case changes
  /// The target could not be planned (unreachable, refused, a guard tripped); nothing will be written.
  case error
}

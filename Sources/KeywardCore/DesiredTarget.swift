/// Everything one target must hold, resolved from the manifests.
public struct DesiredTarget: Hashable, Sendable {
  public var id: TargetID
  public var mode: ManagementMode
  /// Entries in manifest order (the order new lines are appended in).
  public var entries: [DesiredEntry]
  /// Follow a symlinked `~/.ssh` or authorized_keys (manifest `follow: true`).
  public var follow: Bool

  public init(id: TargetID, mode: ManagementMode, entries: [DesiredEntry], follow: Bool = false) {
    self.id = id
    self.mode = mode
    self.entries = entries
    self.follow = follow
  }
}

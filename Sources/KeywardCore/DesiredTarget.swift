/// Everything one target must hold, resolved from the manifests.
public struct DesiredTarget: Hashable, Sendable {
  public var id: TargetID
  public var mode: ManagementMode
  /// Entries in manifest order (the order new lines are appended in).
  public var entries: [DesiredEntry]
  /// Follow a symlinked `~/.ssh` or authorized_keys (manifest `follow: true`).
  public var follow: Bool
  /// The rule lets the path leave the user's home (`outside_home: true`).
  public var allowOutsideHome: Bool
  /// The host may be written with root's privileges where it cannot act as the user (`act_as_root: true`).
  public var actAsRoot: Bool

  public init(
    id: TargetID, mode: ManagementMode, entries: [DesiredEntry], follow: Bool = false,
    allowOutsideHome: Bool = false, actAsRoot: Bool = false
  ) {
    self.id = id
    self.mode = mode
    self.entries = entries
    self.follow = follow
    self.allowOutsideHome = allowOutsideHome
    self.actAsRoot = actAsRoot
  }
}

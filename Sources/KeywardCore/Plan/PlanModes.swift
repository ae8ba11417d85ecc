/// The only modes keyward plans, and so the only modes `apply` accepts from a plan file.
public enum PlanModes {
  /// The mode of a created or tightened file.
  public static let file: UInt32 = 0o600
  /// The mode of a created or tightened `~/.ssh`.
  public static let directory: UInt32 = 0o700
  /// File modes an existing file may keep: owner-readable, nothing for group or others, no
  /// set-id or sticky bits. Any other mode is planned as a fix to `file`.
  public static let keptFileModes: Set<UInt32> = [0o400, 0o500, 0o600, 0o700]
  /// Directory modes a plan may set.
  public static let directoryModes: Set<UInt32> = [directory]

  /// Whether a plan may give a file `mode`.
  public static func isAllowed(fileMode mode: UInt32) -> Bool { keptFileModes.contains(mode) }

  /// Whether a plan may give a directory `mode` (`nil`: leave it).
  public static func isAllowed(directoryMode mode: UInt32?) -> Bool {
    mode.map(directoryModes.contains) ?? true
  }
}

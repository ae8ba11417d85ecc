/// The plan for one target: what changes, and the exact bytes apply will write.
public struct TargetPlan: Hashable, Sendable {
  public var id: TargetID
  public var mode: ManagementMode
  public var status: TargetStatus
  /// The digest of the file when it was read (`absent` when missing, `nil` when it could not be read).
  public var observedDigest: String?
  /// Why the target is in error.
  public var error: String?
  /// Key line changes, in file order (removes and updates), then adds in manifest order.
  public var changes: [KeyChange]
  /// Directory and file changes.
  public var fileActions: [FileAction]
  /// Things a person should know that change nothing (expiring keys, StrictModes problems).
  public var warnings: [String]
  /// The complete new file, when `status == .changes`.
  public var newContent: [UInt8]?
  /// The mode the new file gets.
  public var fileMode: UInt32
  /// The mode the directory must have after apply (`nil`: leave it).
  public var directoryMode: UInt32?
  /// Follow symlinks (manifest `follow: true`).
  public var follow: Bool
  /// What the record in the file said about it when read (`nil`: the file could not be read).
  public var history: FileHistory?
  /// Non-key lines added or removed (keyward's own plans make none; a plan file's bytes may).
  public var lineChanges: [LineChange] = []
  /// The file may be outside the user's home (manifest `outside_home: true`).
  public var allowOutsideHome: Bool = false
  /// The target may be read and written with root's privileges where the host cannot drop to
  /// the user's (manifest `act_as_root: true`).
  public var actAsRoot: Bool = false
  /// The transport read this target with root's privileges (shown in every rendering).
  public var runsAsRoot: Bool = false
  /// What was observed at plan time, kept so that a plan file can show its diff from bytes.
  public var observed: ObservedSnapshot?

  public init(
    id: TargetID, mode: ManagementMode, status: TargetStatus, observedDigest: String?,
    error: String? = nil, changes: [KeyChange] = [], fileActions: [FileAction] = [],
    warnings: [String] = [], newContent: [UInt8]? = nil, fileMode: UInt32 = 0o600,
    directoryMode: UInt32? = nil, follow: Bool = false, history: FileHistory? = nil
  ) {
    self.id = id
    self.mode = mode
    self.status = status
    self.observedDigest = observedDigest
    self.error = error
    self.changes = changes
    self.fileActions = fileActions
    self.warnings = warnings
    self.newContent = newContent
    self.fileMode = fileMode
    self.directoryMode = directoryMode
    self.follow = follow
    self.history = history
  }

  /// How many changes of one kind.
  public func count(_ action: ChangeAction) -> Int { changes.count { $0.action == action } }

  /// How many changes have this origin.
  public func count(_ origin: ChangeOrigin) -> Int { changes.count { $0.origin == origin } }
}

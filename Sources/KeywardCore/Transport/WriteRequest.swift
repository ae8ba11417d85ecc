/// An atomic compare-and-swap write of one target's file.
public struct WriteRequest: Hashable, Sendable {
  public var id: TargetID
  /// The digest observed when the plan was made; the write is refused if the file differs now.
  public var expectedDigest: String
  /// The complete new file.
  public var content: [UInt8]
  /// Mode of the new file (0600 unless the old file was stricter).
  public var fileMode: UInt32
  /// Ensure the file's directory (`~/.ssh`) has this mode, creating it when missing
  /// (`nil`: create it 0700 when missing, leave an existing one alone).
  public var directoryMode: UInt32?
  /// Follow a symlinked `~/.ssh` or file instead of refusing.
  public var follow: Bool
  /// Keep this many previous versions of the file beside it (`Backup.prefix(for:)`), pruning
  /// the oldest; 0 keeps none.
  public var backupLimit: Int
  /// After the rename, prove that the account still accepts a login (SSH transports: a fresh
  /// connection with the run's identity, when that key is in the new file); restore the
  /// previous file and report `.rolledBack` when it does not.
  public var verifyLogin: Bool
  /// The path may leave the user's home (manifest `outside_home: true`); see `FetchRequest`.
  public var allowOutsideHome: Bool = false
  /// Where the host cannot act as the target user, write with root's privileges instead of
  /// refusing (manifest `act_as_root: true`, shown in the plan).
  public var allowActingAsRoot: Bool = false

  public init(
    id: TargetID, expectedDigest: String, content: [UInt8], fileMode: UInt32 = 0o600,
    directoryMode: UInt32? = nil, follow: Bool = false, backupLimit: Int = Backup.defaultLimit,
    verifyLogin: Bool = true
  ) {
    self.id = id
    self.expectedDigest = expectedDigest
    self.content = content
    self.fileMode = fileMode
    self.directoryMode = directoryMode
    self.follow = follow
    self.backupLimit = backupLimit
    self.verifyLogin = verifyLogin
  }
}

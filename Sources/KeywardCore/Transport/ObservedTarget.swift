/// What a transport found on a target: the file's bytes (or its absence) and the
/// ownership and modes sshd's StrictModes cares about.
public struct ObservedTarget: Hashable, Sendable {
  public var id: TargetID
  /// The file's bytes, or `nil` when it does not exist.
  public var content: [UInt8]?
  /// `ContentDigest.of(content)`: SHA-256 hex, or `absent`.
  public var digest: String
  /// The resolved absolute path of the file on the host.
  public var absolutePath: String
  /// The user's home directory, uid and gid on the host.
  public var home: String
  public var uid: UInt32
  public var gid: UInt32
  /// `lstat` of the file, `~/.ssh` (the file's directory) and the home directory; `nil` when absent.
  public var file: PathStatus?
  public var directory: PathStatus?
  public var homeStatus: PathStatus?
  /// The public key this connection authenticated with, when it logged in as this target's user.
  public var loginKeyFingerprint: String?
  /// The newest backup keyward kept beside the file, when asked for (`FetchRequest.includeBackup`).
  public var latestBackup: Backup?
  /// The account this connection logged in as, and its home, when known. With them the
  /// lock-out guard protects `loginKeyFingerprint` on every file sshd reads for that account
  /// (its home), not only on targets of that user. Without `loginUser`, `loginKeyFingerprint`
  /// is taken to belong to this target's user.
  public var loginUser: String?
  public var loginHome: String?
  /// The transport read (and would write) this target with root's privileges because the host
  /// cannot act as the user; the plan refuses it unless the manifest says `act_as_root: true`.
  public var actsAsRoot: Bool = false
  /// What the fetch skipped and why (a backup that is not a regular file of the user).
  public var warnings: [String] = []

  public init(
    id: TargetID, content: [UInt8]?, absolutePath: String, home: String, uid: UInt32, gid: UInt32,
    file: PathStatus? = nil, directory: PathStatus? = nil, homeStatus: PathStatus? = nil,
    loginKeyFingerprint: String? = nil, latestBackup: Backup? = nil
  ) {
    self.id = id
    self.content = content
    self.digest = ContentDigest.of(content)
    self.absolutePath = absolutePath
    self.home = home
    self.uid = uid
    self.gid = gid
    self.file = file
    self.directory = directory
    self.homeStatus = homeStatus
    self.loginKeyFingerprint = loginKeyFingerprint
    self.latestBackup = latestBackup
  }
}

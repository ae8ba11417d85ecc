/// What keyward accepts on a target, and who the file-system primitives act as.
///
/// Owner rule: the file, its directory and every backup read must be owned by the target user
/// (uid and nothing else). A root-owned file or directory is refused for any other user unless
/// `rootOwnedAllowed`: set only for a target the manifest explicitly runs as root (a path root
/// manages, such as `/etc/ssh/keys/%u`). Accepting root's files by default would hand them to
/// the user on the first write (the new file is the user's) and make an exact restore impossible
/// when keyward acts as the user (it cannot give a file back to root).
public struct AccessPolicy: Hashable, Sendable {
  /// The primitives act with more than the target user's rights (root, possibly confined to a
  /// root directory); false when they act as the user (an `sftp-server` run as the user).
  public var privileged: Bool
  /// Root-owned files and directories are accepted (a target the manifest runs as root).
  public var rootOwnedAllowed: Bool
  /// The largest file keyward reads or writes, on every transport.
  public var sizeLimit: UInt64

  /// 16 MiB: far beyond any real authorized_keys, small enough to refuse a hostile file.
  public static let defaultSizeLimit: UInt64 = 16 << 20

  public init(
    privileged: Bool, rootOwnedAllowed: Bool = false, sizeLimit: UInt64 = AccessPolicy.defaultSizeLimit
  ) {
    self.privileged = privileged
    self.rootOwnedAllowed = rootOwnedAllowed
    self.sizeLimit = sizeLimit
  }

  /// Whether a file or directory owned by `uid` may be read or replaced for `account`.
  public func accepts(owner uid: UInt32, for account: PasswdEntry) -> Bool {
    uid == account.uid || (uid == 0 && rootOwnedAllowed)
  }
}

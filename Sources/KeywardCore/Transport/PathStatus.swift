/// What `lstat` says about one path on a target.
public struct PathStatus: Hashable, Sendable, Codable {
  public var isSymlink: Bool
  public var isDirectory: Bool
  public var isRegularFile: Bool
  /// Permission bits (`mode & 0o7777`).
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32

  public init(
    isSymlink: Bool = false, isDirectory: Bool = false, isRegularFile: Bool = false, mode: UInt32,
    uid: UInt32, gid: UInt32
  ) {
    self.isSymlink = isSymlink
    self.isDirectory = isDirectory
    self.isRegularFile = isRegularFile
    self.mode = mode
    self.uid = uid
    self.gid = gid
  }
}

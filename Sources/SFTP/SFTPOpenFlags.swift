/// `SSH_FXF_*` flags of `SSH_FXP_OPEN`.
public struct SFTPOpenFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) { self.rawValue = rawValue }

  public static let read = SFTPOpenFlags(rawValue: 0x01)
  public static let write = SFTPOpenFlags(rawValue: 0x02)
  public static let append = SFTPOpenFlags(rawValue: 0x04)
  public static let create = SFTPOpenFlags(rawValue: 0x08)
  public static let truncate = SFTPOpenFlags(rawValue: 0x10)
  /// With `create`: fail when the name exists, symlinks included (`O_CREAT | O_EXCL`).
  public static let exclusive = SFTPOpenFlags(rawValue: 0x20)
}

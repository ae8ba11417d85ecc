/// One entry of an `SSH_FXP_NAME` reply (a directory entry, a resolved path, a link target).
public struct SFTPName: Hashable, Sendable {
  /// The name as the server sent it, decoded as UTF-8 (invalid bytes become U+FFFD).
  public var filename: String
  /// The raw bytes of the name.
  public var rawFilename: [UInt8]
  /// The `ls -l` style line; informational only, never parsed.
  public var longname: String
  public var attributes: SFTPAttributes

  public init(rawFilename: [UInt8], longname: String, attributes: SFTPAttributes) {
    self.rawFilename = rawFilename
    self.filename = String(decoding: rawFilename, as: UTF8.self)
    self.longname = longname
    self.attributes = attributes
  }
}

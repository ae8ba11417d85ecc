/// File attributes as SFTP v3 carries them (`ATTRS`): every field optional, as the flags say.
public struct SFTPAttributes: Hashable, Sendable {
  public var size: UInt64?
  public var uid: UInt32?
  public var gid: UInt32?
  /// The full `st_mode` (file type bits included) when the server sends it; when sent by the
  /// client, only the permission bits matter.
  public var permissions: UInt32?
  public var accessTime: UInt32?
  public var modificationTime: UInt32?
  /// Extended attributes (`type`, `data` pairs), kept as bytes.
  public var extended: [Extended]

  public struct Extended: Hashable, Sendable {
    public var type: [UInt8]
    public var data: [UInt8]
  }

  public init(
    size: UInt64? = nil, uid: UInt32? = nil, gid: UInt32? = nil, permissions: UInt32? = nil,
    accessTime: UInt32? = nil, modificationTime: UInt32? = nil
  ) {
    self.size = size
    self.uid = uid
    self.gid = gid
    self.permissions = permissions
    self.accessTime = accessTime
    self.modificationTime = modificationTime
    self.extended = []
  }

  /// `SSH_FILEXFER_ATTR_*` flags.
  static let sizeFlag: UInt32 = 0x1
  static let uidGidFlag: UInt32 = 0x2
  static let permissionsFlag: UInt32 = 0x4
  static let timesFlag: UInt32 = 0x8
  static let extendedFlag: UInt32 = 0x8000_0000

  /// The file type from the `S_IFMT` bits of `permissions`, when present.
  public var fileType: FileType? {
    guard let permissions else { return nil }
    return FileType(rawValue: permissions & 0o170000) ?? .other
  }

  /// The `S_IFMT` file types.
  public enum FileType: UInt32, Hashable, Sendable {
    case regular = 0o100000
    case directory = 0o040000
    case symlink = 0o120000
    case fifo = 0o010000
    case characterDevice = 0o020000
    case blockDevice = 0o060000
    case socket = 0o140000
    case other = 0
  }

  func encode(into writer: inout SFTPWireWriter) {
    var flags: UInt32 = 0
    if size != nil { flags |= Self.sizeFlag }
    if uid != nil || gid != nil { flags |= Self.uidGidFlag }
    if permissions != nil { flags |= Self.permissionsFlag }
    if accessTime != nil || modificationTime != nil { flags |= Self.timesFlag }
    if !extended.isEmpty { flags |= Self.extendedFlag }
    writer.uint32(flags)
    if let size { writer.uint64(size) }
    if flags & Self.uidGidFlag != 0 {
      // Both or neither: a caller that sets one must set the other (SFTPFilePrimitives does).
      writer.uint32(uid ?? UInt32.max)
      writer.uint32(gid ?? UInt32.max)
    }
    if let permissions { writer.uint32(permissions) }
    if flags & Self.timesFlag != 0 {
      writer.uint32(accessTime ?? modificationTime ?? 0)
      writer.uint32(modificationTime ?? accessTime ?? 0)
    }
    if !extended.isEmpty {
      writer.uint32(UInt32(extended.count))
      for item in extended {
        writer.string(item.type)
        writer.string(item.data)
      }
    }
  }

  static func decode(from reader: inout SFTPWireReader) throws(SFTPError) -> SFTPAttributes {
    let flags = try reader.uint32()
    var attributes = SFTPAttributes()
    if flags & sizeFlag != 0 { attributes.size = try reader.uint64() }
    if flags & uidGidFlag != 0 {
      attributes.uid = try reader.uint32()
      attributes.gid = try reader.uint32()
    }
    if flags & permissionsFlag != 0 { attributes.permissions = try reader.uint32() }
    if flags & timesFlag != 0 {
      attributes.accessTime = try reader.uint32()
      attributes.modificationTime = try reader.uint32()
    }
    if flags & extendedFlag != 0 {
      let count = try reader.uint32()
      // Each pair takes at least 8 bytes: a count beyond that is a lie, refused before looping.
      guard UInt64(count) * 8 <= UInt64(reader.remaining) else {
        throw .malformed("\(count) extended attributes cannot fit in \(reader.remaining) bytes")
      }
      for _ in 0..<count {
        let type = try reader.string()
        let data = try reader.string()
        attributes.extended.append(Extended(type: type, data: data))
      }
    }
    return attributes
  }
}

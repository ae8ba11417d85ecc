/// A request the client sends, as a value; `encode(id:)` gives the framed packet.
public enum SFTPRequest: Hashable, Sendable {
  case open(path: String, flags: SFTPOpenFlags, attributes: SFTPAttributes)
  case close(SFTPHandle)
  case read(SFTPHandle, offset: UInt64, length: UInt32)
  case write(SFTPHandle, offset: UInt64, data: [UInt8])
  case lstat(path: String)
  case fstat(SFTPHandle)
  case stat(path: String)
  case setstat(path: String, attributes: SFTPAttributes)
  case fsetstat(SFTPHandle, attributes: SFTPAttributes)
  case opendir(path: String)
  case readdir(SFTPHandle)
  case remove(path: String)
  case mkdir(path: String, attributes: SFTPAttributes)
  case rmdir(path: String)
  case realpath(path: String)
  case rename(from: String, to: String)
  case readlink(path: String)
  /// `posix-rename@openssh.com`: `rename(2)`, replacing the target atomically.
  case posixRename(from: String, to: String)
  /// `hardlink@openssh.com`: `link(2)`.
  case hardlink(from: String, to: String)
  /// `fsync@openssh.com`: `fsync(2)` on an open file handle.
  case fsync(SFTPHandle)
  /// `lsetstat@openssh.com`: `setstat` that does not follow a final symlink.
  case lsetstat(path: String, attributes: SFTPAttributes)

  /// The extension a request needs, if any, as the server names it in `SSH_FXP_VERSION`.
  public var requiredExtension: String? {
    switch self {
    case .posixRename: "posix-rename@openssh.com"
    case .hardlink: "hardlink@openssh.com"
    case .fsync: "fsync@openssh.com"
    case .lsetstat: "lsetstat@openssh.com"
    default: nil
    }
  }

  /// The whole packet (length, type, id, body) for request `id`.
  public func encode(id: UInt32) -> [UInt8] {
    var body = SFTPWireWriter(capacity: 64)
    let type: SFTPPacketType
    switch self {
    case .open(let path, let flags, let attributes):
      type = .open
      body.uint32(id)
      body.string(path)
      body.uint32(flags.rawValue)
      attributes.encode(into: &body)
    case .close(let handle):
      type = .close
      body.uint32(id)
      body.string(handle.bytes)
    case .read(let handle, let offset, let length):
      type = .read
      body.uint32(id)
      body.string(handle.bytes)
      body.uint64(offset)
      body.uint32(length)
    case .write(let handle, let offset, let data):
      type = .write
      body = SFTPWireWriter(capacity: data.count + 64)
      body.uint32(id)
      body.string(handle.bytes)
      body.uint64(offset)
      body.string(data)
    case .lstat(let path): (type, body) = (.lstat, Self.idAndString(id, path))
    case .fstat(let handle): (type, body) = (.fstat, Self.idAndString(id, handle.bytes))
    case .stat(let path): (type, body) = (.stat, Self.idAndString(id, path))
    case .setstat(let path, let attributes):
      type = .setstat
      body.uint32(id)
      body.string(path)
      attributes.encode(into: &body)
    case .fsetstat(let handle, let attributes):
      type = .fsetstat
      body.uint32(id)
      body.string(handle.bytes)
      attributes.encode(into: &body)
    case .opendir(let path): (type, body) = (.opendir, Self.idAndString(id, path))
    case .readdir(let handle): (type, body) = (.readdir, Self.idAndString(id, handle.bytes))
    case .remove(let path): (type, body) = (.remove, Self.idAndString(id, path))
    case .mkdir(let path, let attributes):
      type = .mkdir
      body.uint32(id)
      body.string(path)
      attributes.encode(into: &body)
    case .rmdir(let path): (type, body) = (.rmdir, Self.idAndString(id, path))
    case .realpath(let path): (type, body) = (.realpath, Self.idAndString(id, path))
    case .rename(let from, let to):
      type = .rename
      body.uint32(id)
      body.string(from)
      body.string(to)
    case .readlink(let path): (type, body) = (.readlink, Self.idAndString(id, path))
    case .posixRename(let from, let to), .hardlink(let from, let to):
      type = .extended
      body.uint32(id)
      body.string(requiredExtension ?? "")
      body.string(from)
      body.string(to)
    case .fsync(let handle):
      type = .extended
      body.uint32(id)
      body.string(requiredExtension ?? "")
      body.string(handle.bytes)
    case .lsetstat(let path, let attributes):
      type = .extended
      body.uint32(id)
      body.string(requiredExtension ?? "")
      body.string(path)
      attributes.encode(into: &body)
    }
    return Self.frame(type: type, body: body.bytes)
  }

  /// `SSH_FXP_INIT` for protocol version 3 (it has no request id).
  public static func initialize(version: UInt32 = 3) -> [UInt8] {
    var body = SFTPWireWriter()
    body.uint32(version)
    return frame(type: .initialize, body: body.bytes)
  }

  private static func idAndString(_ id: UInt32, _ value: String) -> SFTPWireWriter {
    var body = SFTPWireWriter(capacity: 16 + value.utf8.count)
    body.uint32(id)
    body.string(value)
    return body
  }

  private static func idAndString(_ id: UInt32, _ value: [UInt8]) -> SFTPWireWriter {
    var body = SFTPWireWriter(capacity: 16 + value.count)
    body.uint32(id)
    body.string(value)
    return body
  }

  private static func frame(type: SFTPPacketType, body: [UInt8]) -> [UInt8] {
    var packet = SFTPWireWriter(capacity: body.count + 5)
    packet.uint32(UInt32(truncatingIfNeeded: body.count + 1))
    packet.byte(type.rawValue)
    var bytes = packet.bytes
    bytes.append(contentsOf: body)
    return bytes
  }
}

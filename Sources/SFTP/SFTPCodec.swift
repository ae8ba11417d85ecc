/// The pure SFTP v3 packet codec: framing and decoding of server replies.
///
/// Robust to any bytes: every length is checked against what is left before it is used, a
/// packet longer than `maximumPacketLength` is refused before any allocation, and nothing traps.
/// `decodeStream(_:)` is the entry point for fuzzing (feed it arbitrary bytes).
public enum SFTPCodec {
  /// The largest packet accepted: 256 KiB of payload (OpenSSH's `SFTP_MAX_MSG_LENGTH`) plus
  /// room for the header fields around it.
  public static let maximumPacketLength = 256 * 1024 + 1024

  /// Decodes one packet (type byte and body, without the length prefix).
  public static func decodeResponse(_ packet: [UInt8]) throws(SFTPError) -> SFTPResponse {
    guard packet.count <= maximumPacketLength else {
      throw .malformed("a packet of \(packet.count) bytes is over the \(maximumPacketLength)-byte limit")
    }
    var reader = SFTPWireReader(packet)
    let typeByte = try reader.byte()
    guard let type = SFTPPacketType(rawValue: typeByte) else {
      throw .malformed("unknown packet type \(typeByte)")
    }
    switch type {
    case .version:
      let version = try reader.uint32()
      var extensions: [SFTPExtension] = []
      while reader.remaining > 0 {
        let name = try reader.text()
        let data = try reader.text()
        extensions.append(SFTPExtension(name: name, data: data))
      }
      return .version(version, extensions: extensions)
    case .status:
      let id = try reader.uint32()
      let code = SFTPStatus(rawValue: try reader.uint32())
      // Servers before draft 02 omit the message and language tag.
      let message = reader.remaining > 0 ? try reader.text() : ""
      if reader.remaining > 0 { _ = try reader.string() }
      return .status(id: id, code, message: SFTPError.sanitize(message))
    case .handle:
      let id = try reader.uint32()
      let handle = try reader.string()
      guard handle.count <= SFTPHandle.maximumLength else {
        throw .malformed("a handle of \(handle.count) bytes is longer than \(SFTPHandle.maximumLength)")
      }
      return .handle(id: id, SFTPHandle(handle))
    case .data:
      let id = try reader.uint32()
      return .data(id: id, try reader.string())
    case .name:
      let id = try reader.uint32()
      let count = try reader.uint32()
      // An entry takes at least 12 bytes (two empty strings and empty attributes).
      guard UInt64(count) * 12 <= UInt64(reader.remaining) else {
        throw .malformed("\(count) names cannot fit in \(reader.remaining) bytes")
      }
      var names: [SFTPName] = []
      names.reserveCapacity(Int(count))
      for _ in 0..<count {
        let filename = try reader.string()
        let longname = try reader.text()
        let attributes = try SFTPAttributes.decode(from: &reader)
        names.append(SFTPName(rawFilename: filename, longname: longname, attributes: attributes))
      }
      return .name(id: id, names)
    case .attributes:
      let id = try reader.uint32()
      return .attributes(id: id, try SFTPAttributes.decode(from: &reader))
    case .extendedReply:
      let id = try reader.uint32()
      var rest: [UInt8] = []
      while reader.remaining > 0 { rest.append(try reader.byte()) }
      return .extendedReply(id: id, rest)
    default:
      throw .malformed("packet type \(typeByte) is a request, not a reply")
    }
  }

  /// Frames and decodes every packet in `bytes`, stopping at the first error or at an
  /// incomplete packet. Pure, total and bounded: the libFuzzer entry point for the codec.
  public static func decodeStream(_ bytes: [UInt8]) -> [Result<SFTPResponse, SFTPError>] {
    var framer = SFTPFramer()
    framer.append(bytes)
    var results: [Result<SFTPResponse, SFTPError>] = []
    while true {
      do throws(SFTPError) {
        guard let packet = try framer.nextPacket() else { return results }
        results.append(.success(try decodeResponse(packet)))
      } catch {
        results.append(.failure(error))
        return results
      }
    }
  }
}

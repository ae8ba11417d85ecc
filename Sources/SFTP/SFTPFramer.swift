/// Splits a byte stream into SFTP packets (`uint32 length` + that many bytes).
///
/// A length over `SFTPCodec.maximumPacketLength` or under 1 is refused as soon as its four bytes
/// arrive, so a hostile peer cannot make the client buffer without bound.
public struct SFTPFramer: Sendable {
  private var buffer: [UInt8] = []
  private var start = 0

  public init() {}

  /// Bytes received but not yet returned as packets.
  public var pendingCount: Int { buffer.count - start }

  public mutating func append(_ bytes: [UInt8]) {
    if start > 0 && start >= buffer.count / 2 {
      buffer.removeFirst(start)
      start = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// The next complete packet (type byte and body), nil when more bytes are needed.
  public mutating func nextPacket() throws(SFTPError) -> [UInt8]? {
    guard pendingCount >= 4 else { return nil }
    var length = 0
    for index in start..<(start + 4) { length = length << 8 | Int(buffer[index]) }
    guard length >= 1, length <= SFTPCodec.maximumPacketLength else {
      throw .malformed("a packet length of \(length) bytes is outside 1...\(SFTPCodec.maximumPacketLength)")
    }
    guard pendingCount - 4 >= length else { return nil }
    let packet = Array(buffer[(start + 4)..<(start + 4 + length)])
    start += 4 + length
    if start == buffer.count {
      buffer.removeAll(keepingCapacity: true)
      start = 0
    }
    return packet
  }
}

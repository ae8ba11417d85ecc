/// A reply from the server, decoded from one packet by `SFTPCodec.decodeResponse(_:)`.
public enum SFTPResponse: Hashable, Sendable {
  /// `SSH_FXP_VERSION`: the protocol version and the extensions the server offers.
  case version(UInt32, extensions: [SFTPExtension])
  case status(id: UInt32, SFTPStatus, message: String)
  case handle(id: UInt32, SFTPHandle)
  case data(id: UInt32, [UInt8])
  case name(id: UInt32, [SFTPName])
  case attributes(id: UInt32, SFTPAttributes)
  case extendedReply(id: UInt32, [UInt8])

  /// The request id this reply answers (nil for `version`).
  public var id: UInt32? {
    switch self {
    case .version: nil
    case .status(let id, _, _), .handle(let id, _), .data(let id, _), .name(let id, _),
      .attributes(let id, _), .extendedReply(let id, _):
      id
    }
  }
}

/// An extension the server announces in `SSH_FXP_VERSION` (`name`, `data` such as "1").
public struct SFTPExtension: Hashable, Sendable {
  public var name: String
  public var data: String

  public init(name: String, data: String) {
    self.name = name
    self.data = data
  }
}

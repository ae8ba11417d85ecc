/// An `SSH_FX_*` status code from an `SSH_FXP_STATUS` reply (draft-ietf-secsh-filexfer-02).
///
/// A struct rather than an enum, so codes this client does not know survive unchanged.
public struct SFTPStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public var rawValue: UInt32

  public init(rawValue: UInt32) { self.rawValue = rawValue }

  public static let ok = SFTPStatus(rawValue: 0)
  public static let endOfFile = SFTPStatus(rawValue: 1)
  public static let noSuchFile = SFTPStatus(rawValue: 2)
  public static let permissionDenied = SFTPStatus(rawValue: 3)
  /// Any other failure; sftp-server reports EEXIST, ENOSPC, ELOOP and friends this way.
  public static let failure = SFTPStatus(rawValue: 4)
  public static let badMessage = SFTPStatus(rawValue: 5)
  public static let noConnection = SFTPStatus(rawValue: 6)
  public static let connectionLost = SFTPStatus(rawValue: 7)
  public static let operationUnsupported = SFTPStatus(rawValue: 8)

  public var description: String {
    switch self {
    case .ok: "ok"
    case .endOfFile: "end of file"
    case .noSuchFile: "no such file"
    case .permissionDenied: "permission denied"
    case .failure: "failure"
    case .badMessage: "bad message"
    case .noConnection: "no connection"
    case .connectionLost: "connection lost"
    case .operationUnsupported: "operation unsupported"
    default: "status \(rawValue)"
    }
  }
}

/// An opaque file or directory handle issued by the server (at most 256 bytes).
public struct SFTPHandle: Hashable, Sendable {
  public var bytes: [UInt8]

  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  /// The longest handle the protocol allows (draft-ietf-secsh-filexfer-02, section 3).
  public static let maximumLength = 256
}

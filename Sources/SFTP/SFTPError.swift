/// An SFTP operation failed: the server said no, the server spoke nonsense, or the stream broke.
///
/// Messages never contain raw control characters: whatever the server sends is passed through
/// `SFTPError.sanitize(_:)` first.
public struct SFTPError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Kind: Hashable, Sendable {
    /// The server answered with an `SSH_FXP_STATUS` other than ok.
    case status(SFTPStatus)
    /// The server's bytes break the protocol (truncated, oversized, unexpected type or id).
    /// The client is unusable afterwards.
    case malformed
    /// The byte stream failed or closed. The client is unusable afterwards.
    case stream
    /// The byte stream gave up because a deadline passed. The client is unusable afterwards.
    case timedOut
    /// A file is larger than the caller's limit.
    case tooLarge
    /// The server lacks an extension this operation needs.
    case unsupported
  }

  public var kind: Kind
  /// What happened, including the server's own words when it gave any (sanitised).
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  /// The status code, when the server answered with one.
  public var status: SFTPStatus? {
    if case .status(let status) = kind { return status }
    return nil
  }

  /// True when the client cannot be used any more (the stream or the protocol broke).
  public var isFatal: Bool {
    switch kind {
    case .malformed, .stream, .timedOut: true
    case .status, .tooLarge, .unsupported: false
    }
  }

  public var description: String { message }

  static func malformed(_ message: String) -> SFTPError {
    SFTPError(.malformed, "malformed sftp reply: \(message)")
  }

  /// Makes untrusted text safe to show: control characters (C0, DEL, C1) and bidirectional
  /// overrides become `?`, and the result is cut to `limit` characters.
  public static func sanitize(_ text: String, limit: Int = 200) -> String {
    var result = ""
    var count = 0
    for scalar in text.unicodeScalars {
      if count == limit {
        result += "..."
        break
      }
      let value = scalar.value
      let isControl = value < 0x20 || (0x7F...0x9F).contains(value)
      let isBidi =
        (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
        || value == 0x200E || value == 0x200F || value == 0x061C
      result.unicodeScalars.append(isControl || isBidi ? "?" : scalar)
      count += 1
    }
    return result
  }
}

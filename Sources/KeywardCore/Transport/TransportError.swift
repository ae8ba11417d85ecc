/// An operational failure on one target: which host, which step, and why.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A stable code, e.g. `host-key-changed`, `auth-failed`, `unreachable`, `symlink-refused`.
  public var code: String
  public var host: String
  /// The step that failed, e.g. `connect`, `handshake`, `auth`, `read`, `write`, `rename`.
  public var step: String
  /// What went wrong and what to do about it.
  public var message: String

  public init(code: String, host: String, step: String, message: String) {
    self.code = code
    self.host = host
    self.step = step
    self.message = message
  }

  public var description: String { "\(host): \(step): \(message) [\(code)]" }
}

/// An operational failure on one target: which host, which step, and why.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A stable code, e.g. `host-key-changed`, `auth-failed`, `unreachable`, `symlink-refused`;
  /// whether the session to the host stays usable is `code.keepsSession`.
  public var code: Code
  public var host: String
  /// The step that failed, e.g. `connect`, `handshake`, `auth`, `read`, `write`, `rename`.
  public var step: Step
  /// What went wrong and what to do about it.
  public var message: String

  public init(code: Code, host: String, step: Step, message: String) {
    self.code = code
    self.host = host
    self.step = step
    self.message = message
  }

  public var description: String { "\(host): \(step.rawValue): \(message) [\(code.rawValue)]" }
}

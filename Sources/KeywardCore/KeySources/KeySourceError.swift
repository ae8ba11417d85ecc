/// A key source that cannot be used as written, or a lock file that cannot be trusted.
public struct KeySourceError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}

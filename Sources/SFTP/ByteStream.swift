/// A reliable, ordered, blocking byte stream: an SSH channel, the pipes of a child process.
///
/// `SFTPClient` speaks SFTP v3 over any `ByteStream`, so one client serves every way keyward
/// reaches a user's files: an `sftp-server` started as the target user in an SSH exec channel,
/// the `sftp` subsystem, a local `sftp-server` child, or `ssh -s ... sftp`.
///
/// A stream is used from one thread at a time; it is not `Sendable`.
public protocol ByteStream: AnyObject {
  /// Writes all of `bytes`, blocking until they are accepted.
  func write(_ bytes: [UInt8]) throws(StreamError)
  /// Reads at most `maximum` bytes, blocking until at least one is available; an empty result
  /// means the other end closed the stream.
  func read(maximum: Int) throws(StreamError) -> [UInt8]
  /// Closes the stream; later calls fail. Safe to call more than once.
  func close()
}

/// A byte stream failed: the peer went away, a deadline passed, or the transport broke.
public struct StreamError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong, in words a user can act on.
  public var message: String
  /// True when the stream gave up because an operation deadline passed.
  public var timedOut: Bool

  public init(_ message: String, timedOut: Bool = false) {
    self.message = message
    self.timedOut = timedOut
  }

  public var description: String { message }
}

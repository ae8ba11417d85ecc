/// What apply did to one target.
public struct TargetApplyResult: Hashable, Sendable, Codable {
  public enum Status: String, Hashable, Sendable, Codable {
    /// The new file is in place.
    case applied
    /// The plan had nothing to do here; nothing was written.
    case unchanged
    /// The file changed since the plan was made; nothing was written.
    case stale
    /// Writing failed; the old file is in place.
    case failed
    /// The new file was written but the login check after it failed; the previous file is back.
    case rolledBack = "rolled-back"
    /// The target was in error at plan time, or the plan was refused; nothing was written.
    case skipped
  }

  public var target: String
  public var status: Status
  public var message: String?
  /// The digest of the file after apply (applied) or found (stale).
  public var digest: String?
  /// What the write had to say that did not stop it (a stale lock broken); nil when nothing.
  public var warnings: [String]?

  public init(target: String, status: Status, message: String? = nil, digest: String? = nil) {
    self.target = target
    self.status = status
    self.message = message
    self.digest = digest
  }
}

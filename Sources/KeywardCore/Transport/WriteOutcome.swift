/// What happened to one write.
public enum WriteOutcome: Hashable, Sendable {
  /// The new file is in place; its digest was read back.
  case written(digest: String)
  /// The file changed since the plan was made; nothing was written.
  case stale(currentDigest: String)
  /// Nothing was written; why.
  case failed(TransportError)
  /// The new file was written, but the login check after it failed, so the previous file
  /// was put back; why.
  case rolledBack(TransportError)
}

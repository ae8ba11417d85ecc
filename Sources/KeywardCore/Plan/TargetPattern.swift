#if canImport(Glibc)
  import Glibc
#endif

/// A `--target` filter: a shell glob matched against `user@host` (e.g. `*@web*`, `deploy@db1`).
public struct TargetPattern: Hashable, Sendable {
  public var pattern: String

  public init(_ pattern: String) {
    self.pattern = pattern
  }

  public func matches(_ id: TargetID) -> Bool {
    fnmatch(pattern, "\(id.user)@\(id.host)", 0) == 0 || fnmatch(pattern, id.host, 0) == 0
  }
}

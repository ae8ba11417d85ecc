/// One managed file: a user's authorized_keys on a host.
///
/// `path` is the manifest's path with `%u` and `%%` already expanded by the manifest resolver;
/// `%h` (and `%U`) stay for `absolutePath(home:)`, once the home is known. Relative paths are
/// relative to the user's home.
public struct TargetID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
  public var user: String
  public var host: String
  public var path: String

  public init(user: String, host: String, path: String = ".ssh/authorized_keys") {
    self.user = user
    self.host = host
    self.path = path
  }

  /// `user@host`, plus the path when it is not the default.
  public var description: String {
    path == ".ssh/authorized_keys" ? "\(user)@\(host)" : "\(user)@\(host):\(path)"
  }

  /// By host in natural order (`lab2` before `lab10`), then user, then path.
  public static func < (lhs: TargetID, rhs: TargetID) -> Bool {
    if lhs.host != rhs.host { return NaturalOrder.less(lhs.host, rhs.host) }
    return (lhs.user, lhs.path) < (rhs.user, rhs.path)
  }

  /// The file's absolute path on the host: sshd's `%u`, `%h` and `%%` tokens expanded,
  /// a relative path taken from the home directory (as `AuthorizedKeysFile` does).
  public func absolutePath(home: String) -> String {
    PathTokens.expand(path, user: user, home: home)
  }
}

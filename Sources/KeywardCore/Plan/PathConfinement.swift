/// Where a managed file may be: inside the target user's home, unless the access rule opts in
/// with `outside_home: true`; never through a `..` component.
///
/// Checked three times: on the manifest path at load (with file:line:column), on a plan file's
/// target path when it is read, and on the expanded absolute path before any I/O on it (the
/// transports, and the planner again on what was observed).
public enum PathConfinement {
  /// Why a path as written (in a manifest or a plan file, `%u` expanded, `%h` not) is refused,
  /// or nil when it is acceptable.
  public static func problem(inPath path: String, allowOutsideHome: Bool) -> String? {
    if path.isEmpty { return "the path is empty" }
    if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
      return "the path '\(LineChange.printable(path))' has a control character"
    }
    if path.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
      return "the path '\(path)' has a '..' component; write the path without it"
    }
    if !allowOutsideHome && !isInsideHome(path) {
      return "the path '\(path)' is outside the user's home; write it relative to the home (or as"
        + " '%h/...'), or set 'outside_home: true' on the access rule if that is really meant"
    }
    return nil
  }

  /// Whether a path as written names a file under the user's home: relative (`%u/...` and
  /// `%%...` included: a user name never holds `/`), or `%h/...` — not `/...`, not `%hx`.
  public static func isInsideHome(_ path: String) -> Bool {
    if path.hasPrefix("%h/") { return true }
    return !path.hasPrefix("/") && !path.hasPrefix("%h")
  }

  /// Why an expanded absolute path on a host is refused, or nil: it must be absolute, have no
  /// `.` or `..` component, not end in `/`, and lie under `home` unless `allowOutsideHome`.
  public static func problem(inAbsolutePath path: String, home: String, allowOutsideHome: Bool) -> String? {
    guard path.hasPrefix("/"), !path.hasSuffix("/") else {
      return "the path '\(LineChange.printable(path))' is not an absolute path of a file"
    }
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    if parts.contains("..") || parts.contains(".") {
      return "the path '\(LineChange.printable(path))' has a '.' or '..' component"
    }
    if !allowOutsideHome && !isInside(path, home: home) {
      return "the path '\(LineChange.printable(path))' is outside the home directory '\(home)'; set"
        + " 'outside_home: true' on the access rule if that is really meant"
    }
    return nil
  }

  /// Whether `path` lies under the directory `home` (both absolute, normalized by `/`).
  public static func isInside(_ path: String, home: String) -> Bool {
    let homeParts = home.split(separator: "/", omittingEmptySubsequences: true)
    let pathParts = path.split(separator: "/", omittingEmptySubsequences: true)
    guard !homeParts.contains(".."), pathParts.count > homeParts.count else { return false }
    return Array(pathParts.prefix(homeParts.count)) == homeParts
  }
}

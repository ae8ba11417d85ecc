/// Where a target's file is on its host: the path after token expansion, refused when it
/// climbs (`..`) or names no file.
struct TargetLocation: Hashable, Sendable {
  /// The absolute path of the file (as the host sees it).
  var path: String
  /// Its directory, and its name in that directory.
  var directory: String
  var name: String

  init(directory: String, name: String) {
    self.directory = directory
    self.name = name
    self.path = directory == "/" ? "/" + name : directory + "/" + name
  }

  /// The file of `id` for `account`: `%h`/`%u`/`%%` expanded, relative paths from the home.
  static func of(_ id: TargetID, home: String) -> TargetLocation? {
    let expanded = id.absolutePath(home: home)
    guard expanded.hasPrefix("/"), !expanded.hasSuffix("/") else { return nil }
    let parts = expanded.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    guard let last = parts.last, !parts.contains("..") else { return nil }
    return TargetLocation(
      directory: "/" + parts.dropLast().joined(separator: "/"), name: String(last))
  }

  /// The location of an absolute path (a resolved symlink).
  static func of(absolute path: String) -> TargetLocation? {
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    guard path.hasPrefix("/"), let last = parts.last, !parts.contains(".."), !parts.contains(".") else {
      return nil
    }
    return TargetLocation(directory: "/" + parts.dropLast().joined(separator: "/"), name: String(last))
  }
}

#if canImport(Glibc)
  import Glibc
#endif

/// A previous version of a target's file that keyward kept beside it before replacing it.
///
/// Backups are named `<file>.keyward-backup.<UTC YYYYMMDDTHHMMSSZ>[.<n>]`, so that name
/// order is age order; sshd never reads them (they are not in `AuthorizedKeysFile`).
public struct Backup: Hashable, Sendable {
  /// How many backups a write keeps by default.
  public static let defaultLimit = 5

  /// The backup's file name (in the same directory as the file).
  public var name: String
  public var content: [UInt8]

  public init(name: String, content: [UInt8]) {
    self.name = name
    self.content = content
  }

  /// The prefix every backup name of `fileName` starts with.
  public static func prefix(for fileName: String) -> String { fileName + ".keyward-backup." }

  /// A new backup name for `fileName` at `seconds` since the epoch (UTC).
  public static func name(for fileName: String, at seconds: Int) -> String {
    prefix(for: fileName) + UTCTime.compact(seconds: seconds)
  }

  /// Of the names in a directory, the backups of `fileName`, oldest first.
  public static func backups(of fileName: String, in names: [String]) -> [String] {
    names.filter { $0.hasPrefix(prefix(for: fileName)) }.sorted()
  }
}

/// A change to the file or its directory rather than to a key line.
public enum FileAction: Hashable, Sendable, Codable {
  /// `~/.ssh` (the file's directory) is created with this mode.
  case createDirectory(mode: UInt32)
  /// The file is created.
  case createFile(mode: UInt32)
  /// The directory's mode is tightened.
  case fixDirectoryMode(from: UInt32, to: UInt32)
  /// The file's mode is tightened.
  case fixFileMode(from: UInt32, to: UInt32)
  /// The file belongs to another uid (root) now; the file apply writes belongs to the target user.
  case changeFileOwner(from: UInt32, to: UInt32)

  /// A one-line description for people.
  public var summary: String {
    switch self {
    case .createDirectory(let mode): "create directory (\(Self.octal(mode)))"
    case .createFile(let mode): "create file (\(Self.octal(mode)))"
    case .fixDirectoryMode(let from, let to): "directory mode \(Self.octal(from)) -> \(Self.octal(to))"
    case .fixFileMode(let from, let to): "file mode \(Self.octal(from)) -> \(Self.octal(to))"
    case .changeFileOwner(let from, let to): "file owner uid \(from) -> \(to)"
    }
  }

  /// `0700`-style text for a mode.
  public static func octal(_ mode: UInt32) -> String {
    let digits = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
  }
}

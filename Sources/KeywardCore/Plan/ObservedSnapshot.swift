/// What a plan saw of a target's file, kept with the plan so that `show` and `apply PLANFILE`
/// derive the changes from the bytes (old content -> new content) and the file actions from the
/// observed modes and owner, instead of trusting a stored list.
public struct ObservedSnapshot: Hashable, Sendable {
  /// The file's bytes, or nil when it did not exist.
  public var content: [UInt8]?
  /// `lstat` of the file and of its directory; nil when absent.
  public var file: PathStatus?
  public var directory: PathStatus?
  /// The target user's uid and home on the host.
  public var uid: UInt32
  public var home: String

  public init(content: [UInt8]?, file: PathStatus?, directory: PathStatus?, uid: UInt32, home: String) {
    self.content = content
    self.file = file
    self.directory = directory
    self.uid = uid
    self.home = home
  }

  public init(_ observed: ObservedTarget) {
    self.init(
      content: observed.content, file: observed.file, directory: observed.directory, uid: observed.uid,
      home: observed.home)
  }

  /// The file and directory actions apply performs to reach `fileMode`/`directoryMode` from what
  /// was observed; `writing` says whether the file is replaced at all (an owner change is a
  /// consequence of a write, never a reason for one).
  public func fileActions(fileMode: UInt32, directoryMode: UInt32?, writing: Bool) -> [FileAction] {
    var actions: [FileAction] = []
    if let directory {
      if let directoryMode, directory.mode != directoryMode {
        actions.append(.fixDirectoryMode(from: directory.mode, to: directoryMode))
      }
    } else {
      actions.append(.createDirectory(mode: directoryMode ?? PlanModes.directory))
    }
    if let file {
      if file.mode != fileMode { actions.append(.fixFileMode(from: file.mode, to: fileMode)) }
      if writing && !file.isSymlink && file.uid != uid {
        actions.append(.changeFileOwner(from: file.uid, to: uid))
      }
    } else {
      actions.append(.createFile(mode: fileMode))
    }
    return actions
  }
}

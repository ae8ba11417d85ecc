/// The test-only fault named by `KEYWARD_TEST_FAULT`: `after-lock`, `after-temp`, `before-rename`
/// or `write-offset:N`, after a transport's prefix (`ssh-` for both SSH transports, none for
/// local writes). Where it hits, the caller exits with status 70, so tests prove that a run
/// killed at that point of a write loses nothing. Only debug builds read the variable.
public struct TestFault: Sendable, Equatable {
  enum Point: Sendable, Equatable {
    case afterLock, afterTemp, beforeRename
    case writeOffset(Int)
  }

  let point: Point

  /// The fault `value` names, or nil when it has not `prefix` or names none.
  public init?(_ value: String?, prefix: String) {
    guard let value, value.hasPrefix(prefix) else { return nil }
    let name = value.dropFirst(prefix.count)
    switch name {
    case "after-lock": point = .afterLock
    case "after-temp": point = .afterTemp
    case "before-rename": point = .beforeRename
    default:
      guard name.hasPrefix("write-offset:"), let offset = Int(name.dropFirst("write-offset:".count)) else {
        return nil
      }
      point = .writeOffset(offset)
    }
  }

  /// Whether the write has reached the fault at `checkpoint`.
  public func hits(_ checkpoint: SafeReplace.Checkpoint) -> Bool {
    switch (point, checkpoint) {
    case (.afterLock, .afterLock), (.afterTemp, .afterTemp), (.beforeRename, .beforeRename): true
    case (.writeOffset(let offset), .writing(let at, _)): at >= offset
    default: false
    }
  }
}

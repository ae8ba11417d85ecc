import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A one-line progress counter on stderr, shown only when stderr is a terminal.
final class ProgressLine: Sendable {
  private let label: String
  private let total: Int
  private let enabled: Bool
  private let done = Mutex(0)

  init(label: String, total: Int, enabled: Bool) {
    self.label = label
    self.total = total
    self.enabled = enabled && isatty(2) == 1 && total > 1
  }

  func advance(by count: Int) {
    guard enabled else { return }
    let value = done.withLock { done in
      done += count
      return done
    }
    FileHandle.standardError.write(Data("\r\u{1B}[Kkeyward: \(label) \(value)/\(total) targets".utf8))
  }

  func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
  }
}

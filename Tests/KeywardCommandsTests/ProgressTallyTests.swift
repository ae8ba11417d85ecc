import KeywardCore
import Synchronization
import Testing

@testable import KeywardCommands

/// The router's two transports report their own batches; the display shows one line with
/// their sum and clears it once both have ended.
struct ProgressTallyTests {
  typealias Event = (TransportKind, TransportProgress.Phase, Int, Int, Bool)

  @Test(
    arguments: [
      (
        "both transports, interleaved",
        [
          (TransportKind.libssh2, .reading, 1, 4, false), (.openssh, .reading, 0, 2, false),
          (.openssh, .reading, 2, 2, false), (.openssh, .reading, 2, 2, true),
          (.libssh2, .reading, 4, 4, false),
          (.libssh2, .reading, 4, 4, true),
        ] as [Event],
        ["1/4", "1/6", "3/6", "3/6", "6/6", "6/6 finished"]
      ),
      (
        "one transport alone",
        [
          (.openssh, .writing, 1, 3, false), (.openssh, .writing, 3, 3, false),
          (.openssh, .writing, 3, 3, true),
        ],
        ["1/3", "3/3", "3/3 finished"]
      ),
      (
        "a second batch after the first ended starts afresh",
        [
          (.libssh2, .reading, 2, 2, false), (.libssh2, .reading, 2, 2, true),
          (.openssh, .reading, 1, 5, false),
        ],
        ["2/2", "2/2 finished", "1/5"]
      ),
    ] as [(String, [Event], [String])])
  func sums(_ name: String, _ events: [Event], _ expected: [String]) {
    let lines = Mutex<[String]>([])
    let tally = ProgressTally { progress in
      lines.withLock {
        $0.append("\(progress.done)/\(progress.total)" + (progress.finished ? " finished" : ""))
      }
    }
    for (kind, phase, done, total, finished) in events {
      tally.reporter(for: kind)(TransportProgress(phase: phase, done: done, total: total, finished: finished))
    }
    #expect(lines.withLock { $0 } == expected, "\(name)")
  }
}

import Foundation
import KeywardCore
import Synchronization
import Testing

@testable import KeywardSSH

/// The transport reports progress and asks for passphrases through its settings' callbacks:
/// it never writes to the terminal itself.
@Suite("KeywardSSH reports through callbacks")
struct EngineReportingTests {
  @Test func progressArrivesInOrderFromManyThreadsAndEndsOnce() async {
    let seen = Mutex<[TransportProgress]>([])
    let counter = ProgressCounter(.reading, total: 64) { progress in seen.withLock { $0.append(progress) } }
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<32 { group.addTask { counter.advance(by: 2) } }
    }
    counter.finish()
    let events = seen.withLock { $0 }
    #expect(events.count == 33)
    #expect(events.dropLast().map(\.done) == Array(stride(from: 2, through: 64, by: 2)))
    #expect(events.allSatisfy { $0.phase == .reading && $0.total == 64 })
    #expect(
      events.filter(\.finished) == [TransportProgress(phase: .reading, done: 64, total: 64, finished: true)])
  }

  @Test func withoutACallbackNothingIsReported() {
    let counter = ProgressCounter(.writing, total: 3, report: nil)
    counter.advance(by: 3)
    counter.finish()
  }

  struct PassphraseCase: Sendable, CustomTestStringConvertible {
    var name: String
    var source: PassphraseSource
    var ask: (@Sendable (String) -> String?)?
    var expected: String?
    var testDescription: String { name }
  }

  static let variable = "KEYWARD_TEST_PASSPHRASE_\(getpid())"

  @Test(arguments: [
    PassphraseCase(name: "none never asks", source: .none, ask: { _ in "asked" }, expected: nil),
    PassphraseCase(name: "a value is used as is", source: .value("v"), ask: { _ in "asked" }, expected: "v"),
    PassphraseCase(
      name: "an unset variable asks with the file", source: .environment(variable), ask: { "asked \($0)" },
      expected: "asked /k"),
    PassphraseCase(
      name: "an unset variable and nobody to ask", source: .environment(variable), ask: nil, expected: nil),
    PassphraseCase(
      name: "a set variable wins over asking", source: .environment("PATH"), ask: { _ in "asked" },
      expected: ProcessInfo.processInfo.environment["PATH"]),
  ])
  func passphrases(_ test: PassphraseCase) {
    let settings = SSHSettings(passphrase: test.source, askPassphrase: test.ask)
    #expect(settings.passphrase(for: "/k") == test.expected)
  }
}

import Foundation
import AuthorizedKeys
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Asks for identity passphrases on the terminal, once per file, one prompt at a time.
final class PassphrasePrompt: Sendable {
  static let shared = PassphrasePrompt()

  private let answers = Mutex<[String: String?]>([:])

  /// The passphrase typed for `file`, or nil when there is no terminal.
  func ask(for file: String) -> String? {
    answers.withLock { answers in
      if let known = answers[file] { return known }
      var answer: String?
      if isatty(0) == 1, isatty(2) == 1, let text = getpass("keyward: passphrase for '\(Echo.value(file))': ")
      {
        answer = String(cString: text)
      }
      answers[file] = answer
      return answer
    }
  }
}

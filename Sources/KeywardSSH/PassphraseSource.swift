import Foundation

/// Where the passphrase of an encrypted identity file comes from.
public enum PassphraseSource: Sendable, Hashable {
  /// Encrypted identity files are skipped.
  case none
  /// Read from this environment variable (`KEYWARD_SSH_PASSPHRASE` by default); when it is unset
  /// and stdin is a terminal, ask on the terminal.
  case environment(String)
  /// A fixed passphrase (tests, embedding programs).
  case value(String)

  /// The passphrase for `file`, if one is available.
  func passphrase(for file: String) -> String? {
    switch self {
    case .none: return nil
    case .value(let text): return text
    case .environment(let name):
      if let text = ProcessInfo.processInfo.environment[name] { return text }
      return PassphrasePrompt.shared.ask(for: file)
    }
  }
}

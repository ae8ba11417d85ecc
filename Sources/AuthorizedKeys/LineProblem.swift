/// Why a line is ``LineKind/invalid``, grouped by what sshd 9.2 does with it.
public enum LineProblem: Error, Hashable, Sendable, CustomStringConvertible {
  /// sshd finds no key on the line and skips it silently (`debug2 "advance"`); the reason
  /// says what was expected.
  case noKey(reason: String)
  /// A key type was found but the key does not parse (sshd skips the line silently).
  case badKey(KeyError)
  /// The key parsed but sshd rejects the line for its options (`bad key options: …`,
  /// or `invalid key option string` for an unterminated quote). The key is kept so tools
  /// can say which key the line was meant for.
  case badOptions(OptionsError, key: PublicKey?)

  public var description: String {
    switch self {
    case .noKey(let reason):
      return "no key: \(reason)"
    case .badKey(let error):
      return "invalid key: \(error)"
    case .badOptions(let error, _):
      return "bad key options (sshd: '\(error.sshdMessage)'): \(error)"
    }
  }
}

/// What one run of `SafeReplace` did, with what a person should know that did not stop it
/// (a stale lock broken, a backup that could not be pruned). Engines never print: the caller
/// renders the warnings.
public struct WriteResult: Hashable, Sendable {
  public var outcome: WriteOutcome
  public var warnings: [String]

  public init(outcome: WriteOutcome, warnings: [String] = []) {
    self.outcome = outcome
    self.warnings = warnings
  }
}

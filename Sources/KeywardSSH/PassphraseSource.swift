/// Where the passphrase of an encrypted identity file comes from.
public enum PassphraseSource: Sendable, Hashable {
  /// Encrypted identity files are skipped.
  case none
  /// Read from this environment variable (`KEYWARD_SSH_PASSPHRASE` by default); when it is unset,
  /// asked through `SSHSettings.askPassphrase`.
  case environment(String)
  /// A fixed passphrase (tests, embedding programs).
  case value(String)
}

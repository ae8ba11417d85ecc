import Foundation
import KeywardCore

/// How the SSH transport connects: files, flags and limits that apply to every host.
///
/// Per-host settings come from OpenSSH's own resolution (`ssh -G [-F sshConfigFile] HOST`);
/// the manifest's host fields and these settings override them.
public struct SSHSettings: Sendable {
  /// `ssh -F FILE`: the OpenSSH client configuration to resolve hosts with (default: OpenSSH's).
  public var sshConfigFile: String?
  /// Identity files to offer; when set they replace the IdentityFile list from ssh_config.
  public var identityFiles: [String]
  /// known_hosts file to verify against (and append to with `acceptNewHostKeys`); when set it
  /// replaces UserKnownHostsFile from ssh_config.
  public var knownHostsFile: String?
  /// Accept and record the key of a host not yet in known_hosts (OpenSSH's accept-new).
  /// A changed key is always refused.
  public var acceptNewHostKeys: Bool
  /// How many hosts are worked on at once (real threads).
  public var parallelism: Int
  /// TCP connect timeout (OpenSSH's ConnectTimeout overrides it when set).
  public var connectTimeout: Duration
  /// Timeout for each blocking libssh2 wait.
  public var operationTimeout: Duration
  /// Hard limit for one target, connection included; the socket is shut down when it passes.
  public var targetDeadline: Duration
  /// Where passphrases of encrypted identity files come from.
  public var passphrase: PassphraseSource
  /// Use ssh-agent when it is available.
  public var useAgent: Bool
  /// The agent's socket (default: `SSH_AUTH_SOCK`, read once here: never `setenv` in a threaded program).
  public var agentSocket: String?
  /// Told how far each `fetch` or `write` batch is (from worker threads); nil: nobody is told.
  /// The transport never prints: the command line renders these.
  public var progress: (@Sendable (TransportProgress) -> Void)?
  /// Asked for the passphrase of an encrypted identity file (its path) when `passphrase` is
  /// `.environment` and the variable is unset; nil, or a nil answer: the file is skipped.
  /// The transport never prompts: the command line supplies this (and asks at most once per file).
  public var askPassphrase: (@Sendable (_ file: String) -> String?)?

  public init(
    sshConfigFile: String? = nil, identityFiles: [String] = [], knownHostsFile: String? = nil,
    acceptNewHostKeys: Bool = false, parallelism: Int = 16, connectTimeout: Duration = .seconds(10),
    operationTimeout: Duration = .seconds(30), targetDeadline: Duration = .seconds(120),
    passphrase: PassphraseSource = .environment("KEYWARD_SSH_PASSPHRASE"), useAgent: Bool = true,
    agentSocket: String? = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"],
    progress: (@Sendable (TransportProgress) -> Void)? = nil,
    askPassphrase: (@Sendable (_ file: String) -> String?)? = nil
  ) {
    self.agentSocket = agentSocket
    self.sshConfigFile = sshConfigFile
    self.identityFiles = identityFiles
    self.knownHostsFile = knownHostsFile
    self.acceptNewHostKeys = acceptNewHostKeys
    self.parallelism = max(1, parallelism)
    self.connectTimeout = connectTimeout
    self.operationTimeout = operationTimeout
    self.targetDeadline = targetDeadline
    self.passphrase = passphrase
    self.useAgent = useAgent
    self.progress = progress
    self.askPassphrase = askPassphrase
  }

  /// The passphrase for the identity file `file`, if one is available.
  func passphrase(for file: String) -> String? {
    switch passphrase {
    case .none: nil
    case .value(let text): text
    case .environment(let name): ProcessInfo.processInfo.environment[name] ?? askPassphrase?(file)
    }
  }
}

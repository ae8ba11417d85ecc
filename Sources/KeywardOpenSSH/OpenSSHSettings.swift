import Foundation
import KeywardCore

/// How the OpenSSH-client transport runs `ssh`: keyward's own options, passed to every `ssh` it
/// starts (`-F`, `-i`, `-o UserKnownHostsFile=`), and its limits.
public struct OpenSSHSettings: Sendable {
  /// The client program (absolute path).
  public var sshPath: String
  /// `ssh -F FILE` (default: OpenSSH's own `~/.ssh/config`).
  public var sshConfigFile: String?
  /// `-i FILE` each, with `IdentitiesOnly=yes` (as `--identity` means for the libssh2 path).
  public var identityFiles: [String]
  /// `-o UserKnownHostsFile=FILE`.
  public var knownHostsFile: String?
  /// `-o StrictHostKeyChecking=accept-new` (a changed key is still refused).
  public var acceptNewHostKeys: Bool
  /// How many hosts are worked on at once.
  public var parallelism: Int
  /// `-o ConnectTimeout=` (seconds, rounded up).
  public var connectTimeout: Duration
  /// The longest one read or write on a stream to `ssh` waits.
  public var operationTimeout: Duration
  /// The longest the master may take to log in.
  public var loginTimeout: Duration
  /// The agent socket handed to `ssh` as `SSH_AUTH_SOCK` (nil: none).
  public var agentSocket: String?
  /// Called as targets of a batch finish (from worker threads); the command line renders it.
  public var progress: (@Sendable (TransportProgress) -> Void)?
  /// The ProxyJump ssh_config gives a host (resolved by the command line), for hosts whose
  /// manifest names no `jump:`: keyward then builds the hops itself, each with its own options
  /// (`BatchMode`, `--known-hosts`, `--identity`), where `ssh`'s own ProxyJump would start the
  /// hop's `ssh` with ssh_config's options alone. Nil: ssh_config's ProxyJump is left to `ssh`.
  public var configuredJump: (@Sendable (String) -> String?)?
  /// The passphrase of an encrypted identity file (the path `ssh` names), or nil when there is
  /// none to give. When set, `ssh` runs without `BatchMode` but with keyward as its askpass
  /// (`SSH_ASKPASS_REQUIRE=force`), which answers only passphrase prompts and refuses every
  /// other one (``AskpassServer``); password and keyboard-interactive logins are switched off.
  /// When nil, `ssh` runs with `BatchMode=yes` (encrypted keys then need an agent).
  public var passphrase: (@Sendable (_ file: String) -> String?)?
  /// The program `ssh` starts as its askpass: the keyward executable (it answers as askpass
  /// when ``AskpassClient/isRequested``).
  public var askpassProgram: String

  public init(
    sshPath: String = "/usr/bin/ssh", sshConfigFile: String? = nil, identityFiles: [String] = [],
    knownHostsFile: String? = nil, acceptNewHostKeys: Bool = false, parallelism: Int = 16,
    connectTimeout: Duration = .seconds(10), operationTimeout: Duration = .seconds(30),
    loginTimeout: Duration = .seconds(60),
    agentSocket: String? = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"],
    passphrase: (@Sendable (_ file: String) -> String?)? = nil,
    askpassProgram: String = OpenSSHSettings.ownExecutable,
    progress: (@Sendable (TransportProgress) -> Void)? = nil,
    configuredJump: (@Sendable (String) -> String?)? = nil
  ) {
    self.sshPath = sshPath
    self.sshConfigFile = sshConfigFile
    self.identityFiles = identityFiles
    self.knownHostsFile = knownHostsFile
    self.acceptNewHostKeys = acceptNewHostKeys
    self.parallelism = max(1, parallelism)
    self.connectTimeout = connectTimeout
    self.operationTimeout = operationTimeout
    self.loginTimeout = loginTimeout
    self.agentSocket = agentSocket
    self.progress = progress
    self.configuredJump = configuredJump
    self.passphrase = passphrase
    self.askpassProgram = askpassProgram
  }

  /// This process's executable (`/proc/self/exe` resolved), or the path it was started by.
  public static var ownExecutable: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments[0]
  }

  /// The environment every `ssh` gets: no inherited variables but these.
  var environment: [String] {
    let inherited = ProcessInfo.processInfo.environment
    var result = ["PATH=/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C"]
    for name in ["HOME", "USER", "LOGNAME"] {
      if let value = inherited[name] { result.append("\(name)=\(value)") }
    }
    if let agentSocket, !agentSocket.isEmpty { result.append("SSH_AUTH_SOCK=\(agentSocket)") }
    return result
  }
}

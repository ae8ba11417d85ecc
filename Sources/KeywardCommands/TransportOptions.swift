import ArgumentParser
import KeywardCore
import KeywardOpenSSH
import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// Where targets are reached: over SSH (default) or on this machine (`--local`).
struct TransportOptions: ParsableArguments {
  @Flag(help: "Manage targets on this machine's file system (pull mode) instead of over SSH.")
  var local = false

  @Option(
    help: ArgumentHelp(
      "With --local: treat DIR as the root file system (DIR/etc/passwd, DIR/home/...).", valueName: "DIR"))
  var root: String?

  @Option(
    help: ArgumentHelp(
      "With --local: the manifest host this machine is (default: its host name, short or fully qualified).",
      valueName: "NAME"))
  var host: String?

  @Option(
    name: .customLong("ssh-config"),
    help: ArgumentHelp("OpenSSH client config file for 'ssh -G' (default: ~/.ssh/config).", valueName: "FILE")
  )
  var sshConfig: String?

  @Option(
    name: .customLong("identity"),
    help: ArgumentHelp(
      "Private key to log in with (repeatable; default: ssh-agent and ssh_config's IdentityFile).",
      valueName: "FILE"))
  var identities: [String] = []

  @Option(
    name: .customLong("known-hosts"),
    help: ArgumentHelp("known_hosts file to verify host keys against.", valueName: "FILE"))
  var knownHosts: String?

  @Flag(
    name: .customLong("accept-new-host-keys"),
    help: "Accept and record the key of a host not yet in known_hosts (a changed key is always refused).")
  var acceptNewHostKeys = false

  @Flag(
    name: .customLong("no-sshd-model"),
    help: "Do not read sshd's settings: manage the manifest's path as written (see docs/adopting.md).")
  var noSSHDModel = false

  @Option(
    name: .customLong("transport"),
    help: ArgumentHelp(
      "How to reach hosts: auto (libssh2 where it can, the system's ssh where the settings need it), libssh2 or openssh; overrides the manifest's transport.",
      valueName: "KIND"))
  var transportKind: TransportKind?

  @Option(help: "How many hosts to reach at once.")
  var parallelism: Int = 16

  @Option(name: .customLong("connect-timeout"), help: "Seconds to wait for a host to answer.")
  var connectTimeout: Int = 10

  func validate() throws {
    if root != nil && !local { throw ValidationError("--root needs --local") }
    if host != nil && !local { throw ValidationError("--host needs --local") }
    if parallelism < 1 { throw ValidationError("--parallelism must be at least 1") }
  }

  /// The host names this machine answers to in local mode.
  func localHostNames() -> Set<String> {
    if let host { return [host] }
    return Terminal.hostNames()
  }

  /// The targets this transport acts on: in local mode those of this machine, and of those
  /// the ones `patterns` match.
  func selection(_ patterns: [TargetPattern] = []) -> TargetSelection {
    TargetSelection(patterns: patterns, localHostNames: local ? localHostNames() : nil)
  }

  func makeTransport(hosts: [String: HostSpec]) throws -> any Transport {
    if local {
      return LocalTransport(
        root: root ?? "/", host: localHostNames().sorted().first ?? "localhost",
        checkpoint: Self.faultHook(Environment.value("KEYWARD_TEST_FAULT")))
    }
    return makeRouter(hosts: hosts)
  }

  /// Closes what `makeTransport` opened (every OpenSSH master, every libssh2 session).
  static func close(_ channel: any Transport) {
    (channel as? HostRouter)?.close()
  }

  /// The command's one SSH transport: libssh2 and the OpenSSH client behind one router, both
  /// given keyward's own options (`--ssh-config`, `--identity`, `--known-hosts`, ...).
  func makeRouter(hosts: [String: HostSpec]) -> HostRouter {
    // One progress line for both: each transport reports its own hosts' batch.
    let tally = ProgressTally(render: Terminal.progress)
    let libssh2 = SSHTransport(
      hosts: hosts,
      settings: SSHSettings(
        sshConfigFile: sshConfig, identityFiles: identities, knownHostsFile: knownHosts,
        acceptNewHostKeys: acceptNewHostKeys, parallelism: parallelism,
        connectTimeout: .seconds(connectTimeout), progress: tally.reporter(for: .libssh2),
        askPassphrase: PassphrasePrompt.shared.ask(for:)))
    let openssh = OpenSSHTransport(
      hosts: hosts,
      settings: OpenSSHSettings(
        sshConfigFile: sshConfig, identityFiles: identities, knownHostsFile: knownHosts,
        acceptNewHostKeys: acceptNewHostKeys, parallelism: parallelism,
        connectTimeout: .seconds(connectTimeout), passphrase: Self.openSSHPassphrase(),
        progress: tally.reporter(for: .openssh), configuredJump: { libssh2.configuredJump(for: $0) }))
    return HostRouter(hosts: hosts, override: transportKind, libssh2: libssh2, openssh: openssh)
  }

  /// Where the OpenSSH transport's passphrases come from, as on the libssh2 path:
  /// `KEYWARD_SSH_PASSPHRASE`, else the terminal (asked once per key file, by keyward, when an
  /// `ssh` first needs it), else none (ssh runs with BatchMode=yes; encrypted keys need an agent).
  static func openSSHPassphrase() -> (@Sendable (String) -> String?)? {
    if let value = Environment.value("KEYWARD_SSH_PASSPHRASE") { return { _ in value } }
    guard isatty(0) == 1, isatty(2) == 1 else { return nil }
    return { file in PassphrasePrompt.shared.ask(for: file) }
  }

  /// Test-only: `KEYWARD_TEST_FAULT=before-rename` (or `after-lock`, `after-temp`, `write-offset:N`; `TestFault`) makes the
  /// process exit with status 70 at that point of a local write, to prove that a killed run
  /// loses nothing. Compiled into debug builds only: a release binary ignores the variable.
  static func faultHook(_ value: String?) -> (@Sendable (SafeReplace.Checkpoint) -> Void)? {
    #if DEBUG
      guard let fault = TestFault(value, prefix: "") else { return nil }
      return { point in
        if fault.hits(point) { _exit(70) }
      }
    #else
      return nil
    #endif
  }
}

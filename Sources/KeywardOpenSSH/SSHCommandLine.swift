import KeywardCore

/// The argument vectors and environment of every `ssh` keyward starts for one host: the
/// master, clients over it, and the fresh login check. Host-key checking is never weakened:
/// keyward adds only `BatchMode=yes` (never a prompt) or, with a passphrase to give, keyward as
/// askpass (which refuses every prompt but a key's passphrase) with password and
/// keyboard-interactive logins off; and, when asked, `StrictHostKeyChecking=accept-new`.
struct SSHCommandLine: Sendable {
  let settings: OpenSSHSettings
  /// The manifest's name for the host (the ssh_config alias).
  let alias: String
  /// The manifest's host fields.
  let spec: HostSpec?
  /// The run's askpass, when there is a passphrase to give.
  var askpass: AskpassServer? = nil

  /// The environment every `ssh` for this host gets: `OpenSSHSettings.environment`, and the
  /// askpass's variables (never the passphrase itself).
  var environment: [String] { settings.environment + (askpass?.environment ?? []) }

  /// Options every `ssh` for this host gets, before the destination.
  var common: [String] {
    var arguments = [settings.sshPath]
    if let config = settings.sshConfigFile { arguments += ["-F", config] }
    if askpass == nil {
      arguments += ["-o", "BatchMode=yes"]
    } else {
      // Overrides a BatchMode in ssh_config, which would keep ssh from asking the askpass;
      // SSH_ASKPASS_REQUIRE=force sends every prompt there, never to a terminal.
      arguments += [
        "-o", "BatchMode=no", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
      ]
    }
    let seconds = max(1, Int(settings.connectTimeout.components.seconds))
    arguments += ["-o", "ConnectTimeout=\(seconds)"]
    if let known = settings.knownHostsFile ?? spec?.knownHosts {
      arguments += ["-o", "UserKnownHostsFile=\(known)"]
    }
    if settings.acceptNewHostKeys { arguments += ["-o", "StrictHostKeyChecking=accept-new"] }
    if !settings.identityFiles.isEmpty {
      arguments += ["-o", "IdentitiesOnly=yes"]
      for identity in settings.identityFiles { arguments += ["-i", identity] }
    }
    if let hostname = spec?.hostname { arguments += ["-o", "HostName=\(hostname)"] }
    if let port = spec?.port { arguments += ["-p", String(port)] }
    if let jump = spec?.jump { arguments += ["-J", jump] }
    return arguments
  }

  /// The master: logs in, serves clients on `socket`, and carries the login user's `sftp`
  /// subsystem on its own standard input and output. Its log (for the key it logged in with,
  /// and for errors) goes to `log`.
  func master(user: String, socket: String, log: String) -> [String] {
    common + [
      "-o", "ControlMaster=yes", "-o", "ControlPath=\(socket)", "-o", "ControlPersist=no",
      "-o", "LogLevel=DEBUG1", "-E", log, "-s", "-l", user, "--", alias, "sftp",
    ]
  }

  /// A client over the master: a remote command.
  func exec(user: String, socket: String, command: String) -> [String] {
    common + ["-o", "ControlMaster=no", "-o", "ControlPath=\(socket)", "-l", user, "--", alias, command]
  }

  /// `ssh -O exit`: asks the master to close.
  func exit(user: String, socket: String) -> [String] {
    common + ["-o", "ControlPath=\(socket)", "-O", "exit", "-l", user, "--", alias]
  }

  /// A fresh login without the master (a new connection, handshake and authentication).
  func freshLogin(user: String) -> [String] {
    common + ["-o", "ControlMaster=no", "-o", "ControlPath=none", "-l", user, "--", alias, "true"]
  }
}

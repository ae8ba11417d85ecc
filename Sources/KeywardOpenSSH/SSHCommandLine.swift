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
  /// Every manifest host's fields, by name (for this host and its jump hosts).
  let hosts: [String: HostSpec]
  /// `ProxyJump` for this connection instead of the host's own (the rest of a jump chain).
  var jumpOverride: String?? = nil
  /// `-p` for this connection instead of the host's own (a jump hop's `:port`).
  var portOverride: Int? = nil
  /// The run's askpass, when there is a passphrase to give (jump hops get it too).
  var askpass: AskpassServer? = nil

  init(settings: OpenSSHSettings, alias: String, hosts: [String: HostSpec]) {
    self.settings = settings
    self.alias = alias
    self.hosts = hosts
  }

  /// The manifest's fields for this host.
  var spec: HostSpec? { hosts[alias] }

  /// The environment every `ssh` for this host gets: `OpenSSHSettings.environment`, and the
  /// askpass's variables (never the passphrase itself). A jump hop's `ssh` inherits it.
  var environment: [String] { settings.environment + (askpass?.environment ?? []) }

  /// Options every `ssh` for this host gets, before the destination.
  var common: [String] { common(depth: 0) }

  private func common(depth: Int) -> [String] {
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
    // Through jump hosts, ssh's ConnectTimeout also covers the hops' own logins (the banner
    // comes through them): each hop gets the timeout, as on the libssh2 path.
    let seconds = max(1, Int(settings.connectTimeout.components.seconds)) * (1 + jumpHops)
    arguments += ["-o", "ConnectTimeout=\(seconds)"]
    // `--known-hosts` and `--identity` are paths as written (ssh would expand `%` tokens in
    // them); a manifest `known_hosts:` keeps its tokens, as on the libssh2 path.
    if let known = settings.knownHostsFile.map(Self.literal) ?? spec?.knownHosts {
      arguments += ["-o", "UserKnownHostsFile=" + Self.optionValue(known)]
    }
    if settings.acceptNewHostKeys { arguments += ["-o", "StrictHostKeyChecking=accept-new"] }
    if !settings.identityFiles.isEmpty {
      arguments += ["-o", "IdentitiesOnly=yes"]
      // `-o IdentityFile=`, not `-i`: ssh drops a `-i` path it cannot stat before expanding
      // its tokens, so a path with `%` could not be given at all.
      for identity in settings.identityFiles {
        arguments += ["-o", "IdentityFile=" + Self.optionValue(Self.literal(identity))]
      }
    }
    if let hostname = spec?.hostname { arguments += ["-o", "HostName=\(hostname)"] }
    if let port = portOverride ?? spec?.port { arguments += ["-p", String(port)] }
    if let jump {
      arguments += ["-o", "ProxyCommand=" + proxyCommand(jump, depth: depth)]
    }
    return arguments
  }

  /// The jump chain keyward routes this connection through: the rest of a chain, else the
  /// manifest's `jump:`, else ssh_config's ProxyJump as the command line resolved it.
  var jump: String? {
    let chain: String? =
      if case .some(let override) = jumpOverride { override } else {
        spec?.jump ?? settings.configuredJump?(alias)
      }
    return chain?.isEmpty == false ? chain : nil
  }

  /// A manifest `jump:` as the `ProxyCommand` ssh's own `-J` would make (`ssh -W [%h]:%p HOP`),
  /// except that each hop's `ssh` gets keyward's options and, when the hop names a manifest
  /// host, that host's `hostname`, `port`, `known_hosts` and own `jump` (as on the libssh2 path);
  /// `-J` would know the hop by ssh_config alone. A chain `a,b` reaches `b` through `a`. The
  /// string is for `/bin/sh` (ssh runs it with `$SHELL -c`; keyward's `ssh` has no `SHELL`), and
  /// its own `%` are escaped for ssh's token expansion, level by level.
  func proxyCommand(_ jump: String, depth: Int) -> String {
    guard depth < Self.maximumJumpDepth else {
      return "echo 'keyward: ProxyJump chain longer than 8 hops (a loop?)' >&2; exit 1"
    }
    var hops = jump.split(separator: ",").map(String.init)
    let hop = JumpHop(hops.removeLast())
    var line = SSHCommandLine(settings: settings, alias: hop.host, hosts: hosts)
    line.askpass = askpass
    // The rest of the chain, else (the first hop) the hop's own manifest jump or ssh_config.
    line.jumpOverride = hops.isEmpty ? .none : .some(hops.joined(separator: ","))
    line.portOverride = hop.port
    var options = line.common(depth: depth + 1)
    if let user = hop.user { options += ["-l", user] }
    options += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
    let words = options + ["--", hop.host]
    let quoted = words.map { Self.shellQuoted($0).replacingOccurrences(of: "%", with: "%%") }
    // -W's tokens are the only ones left for ssh to expand at this level.
    return (quoted.dropLast(2) + ["-W", "\\[%h\\]:%p"] + quoted.suffix(2)).joined(separator: " ")
  }

  static let maximumJumpDepth = 8

  /// Why this host's jump chain cannot work, found before any `ssh` starts: a chain that
  /// loops (or is deeper than 8 hops).
  var jumpProblem: String? {
    jumpHops > Self.maximumJumpDepth ? "ProxyJump chain longer than 8 hops (a loop?)" : nil
  }

  /// How many jump hosts the route goes through (one more than the limit for a loop).
  var jumpHops: Int {
    var line = self
    var hops = 0
    while let jump = line.jump, hops <= Self.maximumJumpDepth {
      var chain = jump.split(separator: ",").map(String.init)
      let hop = JumpHop(chain.removeLast())
      var next = SSHCommandLine(settings: settings, alias: hop.host, hosts: hosts)
      next.jumpOverride = chain.isEmpty ? .none : .some(chain.joined(separator: ","))
      line = next
      hops += 1
    }
    return hops
  }

  /// A path ssh reads with `%` tokens, escaped so it means itself.
  static func literal(_ path: String) -> String { path.replacingOccurrences(of: "%", with: "%%") }

  /// A value as ssh's option parser reads it back as one word: in double quotes (with `\\` and
  /// `"` escaped) when it holds white space, a quote or a backslash.
  static func optionValue(_ value: String) -> String {
    guard value.contains(where: { $0.isWhitespace || "\"'\\".contains($0) }) else { return value }
    return "\""
      + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      + "\""
  }

  /// `text` as one word for a POSIX shell, every other character than `[A-Za-z0-9@%+=:,./_-]`
  /// behind a backslash. No quotes: ssh 9.x checks a ProxyCommand's quotes with its own rules
  /// (a backslash escapes a quote even inside single quotes), which `'\''` breaks one level
  /// down; backslashes mean the same to both. A newline cannot be escaped so: such a word is
  /// single-quoted (and ssh refuses the line).
  static func shellQuoted(_ text: String) -> String {
    if text.isEmpty { return "''" }
    if text.contains(where: \.isNewline) {
      return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    var word = ""
    for character in text {
      if !(character.isASCII
        && (character.isLetter || character.isNumber || "@%+=:,./_-".contains(character)))
      {
        word.append("\\")
      }
      word.append(character)
    }
    return word
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

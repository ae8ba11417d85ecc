import Foundation
import KeywardCore
import Synchronization

/// Resolves host aliases the way OpenSSH does, so users' existing ssh_config (Host, Match,
/// Include) just works: in-process (``NativeSSHConfig``, the files read once per run) when the
/// configuration is one it evaluates exactly, else by running `ssh -G [-F FILE] HOST` once per
/// alias. Answers are cached per alias.
final class SSHConfigResolver: Sendable {
  let configFile: String?
  private let cache = Mutex<[String: ResolvedHost]>([:])
  /// The parsed configuration, or nil when it needs OpenSSH (or `KEYWARD_SSH_RESOLVER=ssh`).
  private let native: NativeSSHConfig?
  /// How many aliases were resolved in-process and by `ssh -G` (for benchmarks).
  let counts = Mutex<(native: Int, ssh: Int)>((0, 0))

  init(configFile: String?) {
    self.configFile = configFile
    let forced = ProcessInfo.processInfo.environment["KEYWARD_SSH_RESOLVER"] == "ssh"
    native = forced ? nil : NativeSSHConfig.load(configFile: configFile, home: Self.home)
  }

  /// The settings for `alias`; falls back to OpenSSH's defaults when `ssh` is not installed.
  func resolve(_ alias: String) throws(TransportError) -> ResolvedHost {
    if let cached = cache.withLock({ $0[alias] }) { return cached }
    let resolved: ResolvedHost
    if let text = native?.resolve(alias, localUser: NSUserName(), home: Self.home) {
      resolved = Self.parse(text, alias: alias)
      counts.withLock { $0.native += 1 }
    } else {
      resolved = try run(alias)
      counts.withLock { $0.ssh += 1 }
    }
    cache.withLock { $0[alias] = resolved }
    return resolved
  }

  private func run(_ alias: String) throws(TransportError) -> ResolvedHost {
    if let configFile, !FileManager.default.isReadableFile(atPath: configFile) {
      throw TransportError(
        code: .sshConfig, host: alias, step: .connect,
        message: "cannot read the ssh config file '\(configFile)'")
    }
    guard let ssh = Self.sshPath else { return Self.defaults(alias) }
    var arguments = ["-G"]
    if let configFile { arguments += ["-F", configFile] }
    arguments += ["--", alias]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ssh)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return Self.defaults(alias)
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let text = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      throw TransportError(
        code: .sshConfig, host: alias, step: .connect,
        message: "'ssh -G \(alias)' failed: \(text); fix the ssh config")
    }
    return Self.parse(String(decoding: data, as: UTF8.self), alias: alias)
  }

  static let sshPath: String? = ["/usr/bin/ssh", "/usr/local/bin/ssh", "/bin/ssh"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  static var home: String {
    ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
  }

  /// What OpenSSH would use with no configuration at all.
  static func defaults(_ alias: String) -> ResolvedHost {
    let home = home
    return ResolvedHost(
      alias: alias, hostname: alias, port: 22, user: NSUserName(),
      identityFiles: ["id_ecdsa", "id_ed25519"].map { "\(home)/.ssh/\($0)" }, identitiesOnly: false,
      userKnownHostsFiles: ["\(home)/.ssh/known_hosts", "\(home)/.ssh/known_hosts2"],
      globalKnownHostsFiles: ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"], proxyJump: nil,
      connectTimeout: nil, strictHostKeyChecking: "ask")
  }

  /// Parses `ssh -G` output (lowercase keywords, one per line, IdentityFile repeated).
  ///
  /// Options that change where or how OpenSSH connects and that keyward cannot honour are
  /// collected in `unsupported` (the host then fails naming them); see docs/ssh-config.md.
  static func parse(_ text: String, alias: String) -> ResolvedHost {
    var host = defaults(alias)
    host.identityFiles = []
    host.userKnownHostsFiles = []
    host.globalKnownHostsFiles = []
    var certificateFiles: [String] = []
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1)
      guard parts.count == 2 else { continue }
      let key = parts[0].lowercased()
      let value = String(parts[1])
      switch key {
      case "hostname": host.hostname = value
      case "port": host.port = Int(value) ?? 22
      case "user": host.user = value
      case "identityfile": host.identityFiles.append(expand(value, host: host))
      case "identitiesonly": host.identitiesOnly = value == "yes"
      case "userknownhostsfile":
        host.userKnownHostsFiles = value.split(separator: " ").map { expand(String($0), host: host) }
      case "globalknownhostsfile":
        host.globalKnownHostsFiles = value.split(separator: " ").map { expand(String($0), host: host) }
      case "proxyjump": host.proxyJump = value == "none" ? nil : value
      case "proxycommand": host.proxyCommand = value == "none" ? nil : value
      case "connecttimeout": host.connectTimeout = Int(value).map { .seconds($0) }
      case "connectionattempts": host.connectionAttempts = max(1, Int(value) ?? 1)
      case "stricthostkeychecking": host.strictHostKeyChecking = value
      case "hostkeyalias": host.hostKeyAlias = value == "none" ? nil : value
      case "checkhostip": host.checkHostIP = value == "yes" || value == "true"
      case "hashknownhosts": host.hashKnownHosts = value == "yes" || value == "true"
      case "addressfamily": host.addressFamily = value
      case "bindaddress": host.bindAddress = value
      case "identityagent": host.identityAgent = value
      case "certificatefile": certificateFiles.append(value)
      case "bindinterface", "knownhostscommand", "revokedhostkeys":
        host.unsupported.append("\(key) '\(value)'")
      case "proxyusefdpass" where value == "yes":
        host.unsupported.append("proxyusefdpass 'yes'")
      default: continue
      }
    }
    if !certificateFiles.isEmpty {
      host.unsupported.append(
        "certificatefile \(certificateFiles.map { "'\($0)'" }.joined(separator: ", "))"
          + " (libssh2 1.10 cannot log in with a certificate)")
    }
    host.globalKnownHostsFiles.removeAll { $0 == "/dev/null" }
    host.userKnownHostsFiles.removeAll { $0 == "/dev/null" }
    return host
  }

  /// Expands `~`, `%d` (local home), `%u` (local user), `%h` (host name), `%r` (remote user),
  /// `%%` in a path from ssh_config.
  static func expand(_ path: String, host: ResolvedHost) -> String {
    var text = path
    if text == "~" || text.hasPrefix("~/") { text = home + text.dropFirst() }
    guard text.contains("%") else { return text }
    return PathTokens.substitute(text) { token in
      switch token {
      case "d": home
      case "u": NSUserName()
      case "h": host.hostname
      case "r": host.user
      case "%": "%"
      default: nil
      }
    }
  }
}

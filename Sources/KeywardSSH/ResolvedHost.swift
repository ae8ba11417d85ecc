/// One host's connection settings after OpenSSH's resolution and keyward's overrides.
struct ResolvedHost: Sendable, Hashable {
  /// The name the manifest uses (the ssh_config alias).
  var alias: String
  var hostname: String
  var port: Int
  /// The `User` OpenSSH would log in as (used for jump hosts).
  var user: String
  var identityFiles: [String]
  var identitiesOnly: Bool
  var knownHostsFiles: [String]
  /// `ProxyJump`, comma-separated hops, or nil.
  var proxyJump: String?
  var connectTimeout: Duration?
  /// OpenSSH's StrictHostKeyChecking (`true`, `false`, `ask`, `accept-new`).
  var strictHostKeyChecking: String

  /// The names known_hosts may list this host under: the alias and the address, with OpenSSH's
  /// `[host]:port` form handled by libssh2 for non-22 ports.
  var knownHostNames: [String] {
    var names = [hostname]
    if alias != hostname { names.append(alias) }
    return names
  }
}

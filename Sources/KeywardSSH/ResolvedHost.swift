import AuthorizedKeys

/// One host's connection settings after OpenSSH's resolution and keyward's overrides.
struct ResolvedHost: Sendable, Hashable {
  /// The name the manifest uses (the ssh_config alias).
  var alias: String
  var hostname: String
  var port: Int
  /// The `User` OpenSSH would log in as (used for jump hosts and when a host has no `connect_as`
  /// and the target's user is not the login).
  var user: String
  var identityFiles: [String]
  var identitiesOnly: Bool
  /// `UserKnownHostsFile`: checked first; accepted keys are appended to the first one.
  var userKnownHostsFiles: [String]
  /// `GlobalKnownHostsFile`: checked after the user files, never written.
  var globalKnownHostsFiles: [String] = []
  /// `ProxyJump`, comma-separated hops, or nil.
  var proxyJump: String?
  /// `ProxyCommand` (already expanded by `ssh -G`), or nil.
  var proxyCommand: String?
  var connectTimeout: Duration?
  /// OpenSSH's StrictHostKeyChecking as `ssh -G` prints it (`true`, `false`, `ask`, `accept-new`).
  var strictHostKeyChecking: String
  /// `HostKeyAlias`: the name known_hosts lists the host under instead of its address.
  var hostKeyAlias: String?
  /// `CheckHostIP`: also look the server's address up in known_hosts.
  var checkHostIP = false
  /// `HashKnownHosts`: write hashed names when a new key is accepted.
  var hashKnownHosts = false
  /// `ConnectionAttempts`: TCP connection tries, one second apart.
  var connectionAttempts = 1
  /// `AddressFamily`: `any`, `inet` or `inet6`.
  var addressFamily = "any"
  /// `BindAddress`: the local address to connect from.
  var bindAddress: String?
  /// `IdentityAgent`: the agent socket, `none` to use no agent, nil for `SSH_AUTH_SOCK`.
  var identityAgent: String?
  /// Options that change how OpenSSH would connect and that keyward cannot honour, with the
  /// value `ssh -G` reported: the host fails with a message naming them.
  var unsupported: [String] = []

  /// Every known_hosts file, in the order OpenSSH checks them.
  var knownHostsFiles: [String] { userKnownHostsFiles + globalKnownHostsFiles }

  /// The name OpenSSH looks the host key up under (`get_hostfile_hostname_ipaddr()`): the
  /// `HostKeyAlias`, else the lowercased host name, as `[name]:port` off port 22.
  var knownHostsName: String {
    hostKeyAlias ?? KnownHostsEntry.lookupName(host: hostname.lowercased(), port: port)
  }
}

/// How to reach a host, as the manifest declares it. Unset fields fall back to
/// OpenSSH's own resolution (`ssh -G`), then to built-in defaults.
public struct HostSpec: Hashable, Sendable, Codable {
  /// The name used in the manifest (and the alias given to `ssh -G`).
  public var name: String
  public var hostname: String?
  public var port: Int?
  /// Log in as this user (typically `root`) to manage every target user's file.
  public var connectAs: String?
  /// A jump host (ProxyJump), by manifest name or `[user@]host[:port]`.
  public var jump: String?
  /// known_hosts file for this host.
  public var knownHosts: String?
  /// Where this host cannot act as a target user (no `runuser`/`setpriv`, no `sftp-server`),
  /// read and write that user's files with root's privileges instead of refusing the target
  /// (manifest `act_as_root: true`; plans say which targets run as root).
  public var actAsRoot: Bool?
  /// How to reach the host (manifest `transport`, else `defaults.transport`); nil: `auto`
  /// unless `--transport` says otherwise.
  public var transport: TransportKind?
  /// Rollout order: a canary host takes its turn before every other (`canary: true`).
  public var canary: Bool?
  /// Rollout order: hosts take their turn by tier, lowest first, after the canaries and
  /// before hosts without a tier (`tier: 1`).
  public var tier: Int?
  public var location: SourceLocation?

  public init(
    name: String, hostname: String? = nil, port: Int? = nil, connectAs: String? = nil,
    jump: String? = nil, knownHosts: String? = nil, location: SourceLocation? = nil
  ) {
    self.name = name
    self.hostname = hostname
    self.port = port
    self.connectAs = connectAs
    self.jump = jump
    self.knownHosts = knownHosts
    self.location = location
  }
}

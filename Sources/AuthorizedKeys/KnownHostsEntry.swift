import Crypto

/// One valid line of a known_hosts file, as OpenSSH's `hostkeys_foreach()` reads it.
public struct KnownHostsEntry: Sendable, Hashable {
  /// The marker in front of the host field.
  public enum Marker: Sendable, Hashable {
    /// A plain host key.
    case none
    /// `@cert-authority`: the key is a CA trusted to sign host certificates for these hosts.
    case certAuthority
    /// `@revoked`: the key must never be accepted for these hosts.
    case revoked
  }

  /// How the host field names hosts.
  public enum Hosts: Sendable, Hashable {
    /// A comma-separated pattern list (`*`, `?`, `!`), as written.
    case patterns([UInt8])
    /// `|1|salt|hash`: HMAC-SHA1 of the host name keyed with the salt. `hash` is nil when the
    /// field can never match (bad salt, non-canonical base64): OpenSSH skips such lines.
    case hashed(salt: [UInt8], hash: [UInt8]?)
  }

  public let marker: Marker
  public let hosts: Hosts
  public let key: PublicKey
  /// The file the line came from and its 1-based line number.
  public let file: String
  public let line: Int

  /// Whether the host field is hashed (`HashKnownHosts`).
  public var isHashed: Bool {
    if case .hashed = hosts { return true }
    return false
  }

  /// `file:line`, for messages.
  public var location: String { "\(file):\(line)" }

  /// Whether this line names `host` (`match_maybe_hashed()`): hashed fields compare the HMAC of
  /// `host` as given; pattern lists lowercase `host` and match with negation.
  public func matches(_ host: [UInt8]) -> Bool {
    switch hosts {
    case .patterns(let list):
      return HostPattern.matchHostname(host, list: list) == .positive
    case .hashed(let salt, let hash):
      guard let hash else { return false }
      return KnownHostsEntry.hmac(host, salt: salt) == hash
    }
  }

  static func hmac(_ host: [UInt8], salt: [UInt8]) -> [UInt8] {
    Array(HMAC<Insecure.SHA1>.authenticationCode(for: host, using: SymmetricKey(data: salt)))
  }

  /// The host field OpenSSH writes for `host` with `HashKnownHosts yes`: `|1|salt|hash`.
  public static func hashedField(_ host: String, salt: [UInt8]) -> String {
    "|1|" + Base64.encode(salt) + "|" + Base64.encode(hmac(Array(host.utf8), salt: salt))
  }

  /// `put_host_port()`: the name known_hosts lists a host under: `host`, or `[host]:port` when
  /// the port is not 22.
  public static func lookupName(host: String, port: Int) -> String {
    port == 22 || port == 0 ? host : "[\(host)]:\(port)"
  }
}

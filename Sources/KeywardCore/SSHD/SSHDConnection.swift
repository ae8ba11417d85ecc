/// The connection `Match` blocks are evaluated for: sshd's `-C user=,host=,addr=,laddr=,lport=`.
public struct SSHDConnection: Hashable, Sendable {
  public var user: String
  /// The user's groups (primary and supplementary) by name; empty when the user is unknown.
  public var groups: [String]
  public var host: String
  public var address: String
  public var localAddress: String
  public var localPort: Int

  public init(
    user: String, groups: [String] = [], host: String = "127.0.0.1", address: String = "127.0.0.1",
    localAddress: String = "127.0.0.1", localPort: Int = 22
  ) {
    self.user = user
    self.groups = groups
    self.host = host
    self.address = address
    self.localAddress = localAddress
    self.localPort = localPort
  }

  /// The `-C` argument of `sshd -T` for this connection.
  public var testSpec: String {
    "user=\(user),host=\(host),addr=\(address),laddr=\(localAddress),lport=\(localPort)"
  }
}

/// One ProxyJump hop: `[user@]host[:port]`, `[user@][v6 or host]:port` (the bracketed form
/// `ssh -G` prints), or `ssh://[user@]host[:port]`. Both SSH transports read a manifest `jump:`
/// (and ssh_config's ProxyJump) with it.
public struct JumpHop: Hashable, Sendable {
  public var user: String?
  public var host: String
  public var port: Int?

  public init(user: String? = nil, host: String, port: Int? = nil) {
    self.user = user
    self.host = host
    self.port = port
  }

  /// Parses one hop (no commas: split a chain first).
  public init(_ text: String) {
    var rest = Substring(text)
    if rest.hasPrefix("ssh://") { rest = rest.dropFirst(6) }
    var user: String?
    if let at = rest.lastIndex(of: "@") {
      user = String(rest[..<at])
      rest = rest[rest.index(after: at)...]
    }
    if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
      let host = String(rest[rest.index(after: rest.startIndex)..<close])
      let after = rest[rest.index(after: close)...]
      self.init(user: user, host: host, port: after.hasPrefix(":") ? Int(after.dropFirst()) : nil)
      return
    }
    if rest.filter({ $0 == ":" }).count == 1, let colon = rest.lastIndex(of: ":"),
      let port = Int(rest[rest.index(after: colon)...])
    {
      self.init(user: user, host: String(rest[..<colon]), port: port)
      return
    }
    self.init(user: user, host: String(rest), port: nil)
  }
}

/// The authorized_keys options sshd knows (sshd(8), AUTHORIZED_KEYS FILE FORMAT), and how the
/// structured form of `options:` writes each one.
enum KeyOptionTable {
  enum Kind {
    /// `restrict: true` writes `restrict`; `false` writes nothing.
    case flag
    /// `command: /bin/x` writes `command="/bin/x"`.
    case value
    /// `from: [a, b]` writes one option with the items joined by commas: `from="a,b"`.
    case commaList
    /// `permitopen: [a, b]` writes the option once per item.
    case repeated
    /// `environment: { NAME: value }` writes `environment="NAME=value"` per pair.
    case environment
  }

  static let kinds: [String: Kind] = [
    "agent-forwarding": .flag, "cert-authority": .flag, "no-agent-forwarding": .flag,
    "no-port-forwarding": .flag, "no-pty": .flag, "no-user-rc": .flag, "no-x11-forwarding": .flag,
    "port-forwarding": .flag, "pty": .flag, "restrict": .flag, "user-rc": .flag, "x11-forwarding": .flag,
    "no-touch-required": .flag, "touch-required": .flag, "verify-required": .flag,
    "command": .value, "expiry-time": .value, "tunnel": .value,
    "from": .commaList, "principals": .commaList,
    "permitopen": .repeated, "permitlisten": .repeated,
    "environment": .environment,
  ]

  /// Whether an option may appear several times on one line.
  static func isRepeatable(_ name: String) -> Bool {
    switch kinds[name.lowercased()] {
    case .repeated, .environment: true
    default: false
    }
  }
}

/// Which way keyward reaches a host (`--transport`, manifest `defaults.transport` and per-host
/// `transport`).
public enum TransportKind: String, Codable, CaseIterable, Hashable, Sendable {
  /// libssh2 where it can log in and verify the host, the OpenSSH client where it cannot;
  /// decided from the resolved settings before connecting.
  case auto
  /// keyward's own SSH client (libssh2): fastest, no processes.
  case libssh2
  /// The system's `ssh` (ControlMaster), for everything `ssh` can log in with.
  case openssh
}

/// The transport that serves one host, and why (plans and reports show it).
public struct TransportChoice: Codable, Hashable, Sendable {
  /// `libssh2` or `openssh` (never `auto`).
  public var transport: TransportKind
  /// What was asked for: `auto`, or the kind `--transport` or the manifest named.
  public var requested: TransportKind
  /// Why: the option that chose it, or what the resolved settings need.
  public var reason: String

  public init(transport: TransportKind, requested: TransportKind, reason: String) {
    self.transport = transport
    self.requested = requested
    self.reason = reason
  }

  /// libssh2 chosen by `auto`: the usual case, which text output does not spell out.
  public var isDefault: Bool { requested == .auto && transport == .libssh2 }
}

import ArgumentParser
import KeywardCore
import KeywardOpenSSH
import KeywardSSH
import Synchronization

extension TransportKind: ExpressibleByArgument {}

/// The one transport a command makes over SSH (and passes along: no hidden cache), routing each
/// host to libssh2 or to the OpenSSH client: `--transport` when given, else the host's manifest
/// `transport` (or `defaults.transport`), else `auto`, which picks libssh2 unless the host's
/// resolved settings need `ssh` (decided before connecting). Each host's choice and its reason
/// are kept for the plan and the report.
final class HostRouter: Transport, SSHDModelSource, @unchecked Sendable {
  let hosts: [String: HostSpec]
  /// `--transport`, when given: overrides the manifest.
  let override: TransportKind?
  let libssh2: SSHTransport
  let openssh: OpenSSHTransport
  private let decided = Mutex<[String: TransportChoice]>([:])

  init(hosts: [String: HostSpec], override: TransportKind?, libssh2: SSHTransport, openssh: OpenSSHTransport)
  {
    self.hosts = hosts
    self.override = override
    self.libssh2 = libssh2
    self.openssh = openssh
  }

  /// Ends every OpenSSH master and libssh2 session this command opened.
  func close() {
    openssh.close()
    libssh2.closeSessions()
  }

  /// The choice for every host routed so far.
  var choices: [String: TransportChoice] { decided.withLock { $0 } }

  /// The transport for `host` (decided once per host).
  func choice(for host: String) -> TransportChoice {
    if let known = decided.withLock({ $0[host] }) { return known }
    let choice: TransportChoice
    let requested = override ?? hosts[host]?.transport ?? .auto
    switch requested {
    case .libssh2, .openssh:
      let source =
        override != nil
        ? "--transport \(requested.rawValue)" : "the manifest sets transport: \(requested.rawValue)"
      choice = TransportChoice(transport: requested, requested: requested, reason: source)
    case .auto:
      if let reason = libssh2.openSSHReason(for: host, user: hosts[host]?.connectAs ?? "") {
        choice = TransportChoice(transport: .openssh, requested: .auto, reason: "auto: " + reason)
      } else {
        choice = TransportChoice(
          transport: .libssh2, requested: .auto, reason: "auto: libssh2 can log in with the resolved settings"
        )
      }
    }
    decided.withLock { $0[host] = choice }
    return choice
  }

  private func split<R>(_ items: [R], host: (R) -> String) -> (libssh2: [R], openssh: [R]) {
    var result: ([R], [R]) = ([], [])
    for item in items {
      if choice(for: host(item)).transport == .openssh {
        result.1.append(item)
      } else {
        result.0.append(item)
      }
    }
    return result
  }

  func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
    let (a, b) = split(targets) { $0.id.host }
    async let first = a.isEmpty ? [:] : libssh2.fetch(a)
    async let second = b.isEmpty ? [:] : openssh.fetch(b)
    return await first.merging(await second) { x, _ in x }
  }

  func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    (await writeReporting(requests)).mapValues(\.outcome)
  }

  func writeReporting(_ requests: [WriteRequest]) async -> [TargetID: WriteResult] {
    let (a, b) = split(requests) { $0.id.host }
    async let first = a.isEmpty ? [:] : libssh2.writeReporting(a)
    async let second = b.isEmpty ? [:] : openssh.writeReporting(b)
    return await first.merging(await second) { x, _ in x }
  }

  func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<SSHDModel, TransportError>] {
    let (a, b) = split(requests) { $0.host }
    async let first = a.isEmpty ? [:] : libssh2.readSSHDModels(a)
    async let second = b.isEmpty ? [:] : openssh.readSSHDModels(b)
    return await first.merging(await second) { x, _ in x }
  }
}

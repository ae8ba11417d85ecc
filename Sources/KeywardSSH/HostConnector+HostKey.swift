import AuthorizedKeys
import Foundation
import KeywardCore

extension HostConnector {
  /// Checks the server's host key exactly as OpenSSH's `check_host_key()` would with these
  /// settings, against known_hosts as read once for the run. `@revoked` keys are refused in
  /// every mode and never recorded; a changed key is always refused; an unknown key is recorded
  /// only with accept-new (or StrictHostKeyChecking no / accept-new).
  func verifyHostKey(_ session: SSHSession, _ resolved: ResolvedHost, address: String?)
    throws(TransportError)
  {
    let name = resolved.knownHostsName
    let known = knownHosts.knownHosts(resolved.knownHostsFiles)
    let entries = known.entries(for: name)
    try session.handshake(hostKeyPreference: Self.hostKeyPreference(entries))
    let offered = try session.hostKey()
    let key: PublicKey
    do {
      key = try PublicKey(type: offered.type, base64: Data(offered.blob).base64EncodedString())
    } catch {
      throw TransportError(
        code: .handshakeFailed, host: resolved.alias, step: .hostkey,
        message: "the server's \(offered.type) host key could not be read: \(error)")
    }
    let files = resolved.knownHostsFiles.map { "'\($0)'" }.joined(separator: ", ")
    // CheckHostIP: the address is looked up too (never for loopback, as in OpenSSH).
    var ipName: String?
    var ipVerdict: KnownHostsVerdict?
    if resolved.checkHostIP, let address, !TCPConnector.isLoopback(address), address != resolved.hostname {
      let lookup = KnownHostsEntry.lookupName(host: address, port: resolved.port)
      ipName = lookup
      ipVerdict = known.verdict(for: key, host: lookup)
    }
    let verdict = known.verdict(for: key, entries: entries)
    switch Self.checkHostIP(host: verdict, ip: ipVerdict, strict: resolved.strictHostKeyChecking) {
    case .refuse:
      throw TransportError(
        code: .hostKeyChanged, host: resolved.alias, step: .hostkey,
        message:
          "the \(key.type) host key of '\(name)' differs from the key known_hosts lists for its address"
          + " '\(ipName ?? "")' (CheckHostIP); the address may have been taken over. Check the host, then"
          + " fix the entry (\(Self.removalCommands(ipName ?? "", ipVerdict)))")
    case .recordAddress:
      if let ipName, let file = resolved.userKnownHostsFiles.first {
        try knownHosts.append(
          path: file,
          hostField: resolved.hashKnownHosts
            ? KnownHostsEntry.hashedField(ipName, salt: Self.salt()) : ipName,
          type: key.algorithm.plainName, blob: key.blob, host: resolved.alias)
      }
    case .none:
      break
    }
    switch verdict {
    case .matched:
      return
    case .revoked(let entry):
      throw TransportError(
        code: .hostKeyRevoked, host: resolved.alias, step: .hostkey,
        message:
          "the server's \(key.type) host key \(key.fingerprint) is marked @revoked for '\(name)'"
          + " (\(entry.location)): refused, as ssh refuses it ('REVOKED HOST KEY DETECTED'), and not"
          + " recorded; the host needs a new host key")
    case .changed(let previous):
      let listed = previous.map { "\($0.key.algorithm.plainName) \($0.key.fingerprint) (\($0.location))" }
      var message =
        "host key changed: known_hosts has \(listed.joined(separator: ", ")) for '\(name)' but the server"
        + " offered \(key.type) \(key.fingerprint); this may be an impostor. If the host was really"
        + " rebuilt, remove the old entry (\(Self.removalCommands(name, verdict))) and connect again"
      let usable = Set(LibSSH2.usableHostKeyTypes)
      if !previous.contains(where: { usable.contains($0.key.algorithm.plainName) }) {
        message +=
          "; note: known_hosts lists only key types libssh2 1.10 cannot negotiate for this host"
          + " (it verifies \(LibSSH2.usableHostKeyTypes.joined(separator: ", ")))"
      }
      throw TransportError(code: .hostKeyChanged, host: resolved.alias, step: .hostkey, message: message)
    case .unknown(let authorities) where !authorities.isEmpty:
      throw TransportError(
        code: .hostKeyUnknown, host: resolved.alias, step: .hostkey,
        message:
          "known_hosts trusts a host certificate authority for '\(name)' (@cert-authority at"
          + " \(authorities[0].location)), but libssh2 1.10 cannot negotiate certificate host keys"
          + " (no *-cert-v01@openssh.com host key algorithms), so the server's plain \(key.type) key"
          + " \(key.fingerprint) cannot be checked against it and is not listed itself; add the plain key"
          + " to known_hosts after verifying it, or reach this host with ssh")
    case .unknown:
      let acceptNew =
        settings.acceptNewHostKeys || resolved.strictHostKeyChecking == "accept-new"
        || resolved.strictHostKeyChecking == "false" || resolved.strictHostKeyChecking == "no"
      guard acceptNew, let file = resolved.userKnownHostsFiles.first else {
        throw TransportError(
          code: .hostKeyUnknown, host: resolved.alias, step: .hostkey,
          message:
            "host key unknown: \(key.type) \(key.fingerprint) for '\(name)' is not in \(files.isEmpty ? "any known_hosts file" : files);"
            + " verify it and add it (ssh-keyscan), or pass --accept-new-host-keys")
      }
      let newAddress = ipVerdict.map { if case .unknown = $0 { true } else { false } } ?? false
      var fields = [resolved.hashKnownHosts ? KnownHostsEntry.hashedField(name, salt: Self.salt()) : name]
      if newAddress, let ipName {
        // As ssh writes it: `name,address`, or one hashed line each.
        if resolved.hashKnownHosts {
          fields.append(KnownHostsEntry.hashedField(ipName, salt: Self.salt()))
        } else {
          fields[0] += ",\(ipName)"
        }
      }
      for field in fields {
        try knownHosts.append(
          path: file, hostField: field, type: key.algorithm.plainName, blob: key.blob, host: resolved.alias)
      }
    }
  }

  /// What CheckHostIP adds to the host's own verdict.
  enum AddressCheck: Equatable {
    case none
    /// The address lists another key and StrictHostKeyChecking is `yes` or `ask`.
    case refuse
    /// The host is known, its address not: ssh records the address.
    case recordAddress
  }

  /// OpenSSH's `check_host_key()` for the address: a changed key for the address refuses the
  /// host under `yes`/`ask` (ssh only warns under `accept-new`/`no`); a known host whose address
  /// is new gets the address recorded.
  static func checkHostIP(host: KnownHostsVerdict, ip: KnownHostsVerdict?, strict: String) -> AddressCheck {
    guard let ip else { return .none }
    switch (host, ip) {
    case (.changed, _), (.revoked, _): return .none
    case (_, .changed): return strict == "true" || strict == "ask" || strict == "yes" ? .refuse : .none
    case (.matched, .unknown): return .recordAddress
    default: return .none
    }
  }

  /// The host key algorithms to offer, best first: the types known_hosts lists for the host
  /// (so the server presents a key that can match, as OpenSSH's `order_hostkeyalgs()` does),
  /// then the other types libssh2 1.10 can verify.
  static func hostKeyPreference(_ entries: [KnownHostsEntry]) -> [String] {
    let known = Set(entries.filter { $0.marker == .none }.map { $0.key.algorithm.plainName })
    let usable = LibSSH2.usableHostKeyTypes
    return usable.filter { known.contains($0) } + usable.filter { !known.contains($0) }
  }

  /// 20 random bytes for a hashed known_hosts name.
  static func salt() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
  }

  /// `'ssh-keygen -R NAME -f FILE'` for each known_hosts file that lists `name` with another key
  /// (every file keyward reads is named: `ssh-keygen -R` alone edits only ~/.ssh/known_hosts).
  static func removalCommands(_ name: String, _ verdict: KnownHostsVerdict?) -> String {
    var files: [String] = []
    if case .changed(let previous) = verdict {
      for entry in previous where !files.contains(entry.file) { files.append(entry.file) }
    }
    let quotedName = shellQuoted(name)
    guard !files.isEmpty else { return "'ssh-keygen -R \(quotedName)'" }
    return files.map { "'ssh-keygen -R \(quotedName) -f \(shellQuoted($0))'" }.joined(separator: ", ")
  }

  /// A word as the shell reads it back: bare when it holds only safe characters, else in double
  /// quotes (the message puts the whole command in single quotes).
  static func shellQuoted(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@,+".contains($0) }
    return safe && !word.isEmpty ? word : "\"" + word.replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }
}

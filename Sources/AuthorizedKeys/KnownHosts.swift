/// The known_hosts files OpenSSH would consult for a connection, in order (every
/// `UserKnownHostsFile`, then every `GlobalKnownHostsFile`), and the verdicts OpenSSH 9.2
/// reaches with them (`check_key_in_hostkeys()` in `hostfile.c`).
///
/// Pure: the caller reads the files (once per run) and passes the parsed ``KnownHostsFile``s.
public struct KnownHosts: Sendable {
  public let files: [KnownHostsFile]

  public init(files: [KnownHostsFile]) {
    self.files = files
  }

  /// Every entry naming `host` (the lookup name: lowercased, `[host]:port` off port 22, or
  /// the `HostKeyAlias`), user files first, each in file order.
  public func entries(for host: String) -> [KnownHostsEntry] {
    files.flatMap { $0.entries(for: host) }
  }

  /// The verdict for `key` offered by the server known as `host`.
  ///
  /// As OpenSSH: a plain key is OK when an unmarked line names the host with the same key;
  /// CHANGED when unmarked lines name the host but none holds this key (whatever their key
  /// type); NEW otherwise. A certificate is OK when an `@cert-authority` line for the host
  /// holds its signing key (the caller must then check the certificate's signature, type,
  /// principals and validity itself), NEW otherwise. In every case a `@revoked` line for the host
  /// holding the key (or a certificate's CA) makes it REVOKED.
  public func verdict(for key: PublicKey, host: String) -> KnownHostsVerdict {
    verdict(for: key, entries: entries(for: host))
  }

  /// The verdict against already looked-up entries (see ``verdict(for:host:)``).
  public func verdict(for key: PublicKey, entries: [KnownHostsEntry]) -> KnownHostsVerdict {
    for entry in entries where entry.marker == .revoked {
      if entry.key.plainBlob == key.plainBlob && entry.key.algorithm.plain == key.algorithm.plain {
        return .revoked(entry)
      }
      if let ca = key.certificate, ca.caFingerprint == entry.key.fingerprint {
        return .revoked(entry)
      }
    }
    if let certificate = key.certificate {
      let authorities = entries.filter { $0.marker == .certAuthority }
      if let match = authorities.first(where: { $0.key.fingerprint == certificate.caFingerprint }) {
        return .matched(match)
      }
      return .unknown(certificateAuthorities: authorities)
    }
    let plain = entries.filter { $0.marker == .none }
    if let match = plain.first(where: { Self.sameKey($0.key, key) }) { return .matched(match) }
    if !plain.isEmpty { return .changed(known: plain) }
    return .unknown(certificateAuthorities: entries.filter { $0.marker == .certAuthority })
  }

  /// `sshkey_equal()` for a plain server key: the same key material; a certificate line in
  /// known_hosts counts as its certified key.
  static func sameKey(_ known: PublicKey, _ offered: PublicKey) -> Bool {
    if offered.isCertificate { return known.isCertificate && known.blob == offered.blob }
    return known.algorithm.plain == offered.algorithm.plain && known.plainBlob == offered.plainBlob
  }

  /// The plain host key types known_hosts holds for `host`, as OpenSSH type names, in the
  /// order first seen; the client should offer these first (`order_hostkeyalgs()`).
  public func keyTypes(for host: String) -> [String] {
    var seen: [String] = []
    for entry in entries(for: host) where entry.marker == .none {
      let name = entry.key.algorithm.plainName
      if !seen.contains(name) { seen.append(name) }
    }
    return seen
  }
}

/// What known_hosts says about a host key.
public enum KnownHostsVerdict: Sendable, Equatable {
  /// The key (or the certificate's CA) is listed for the host.
  case matched(KnownHostsEntry)
  /// The host is listed with other keys only: a possible impostor.
  case changed(known: [KnownHostsEntry])
  /// Nothing lists the host's key; `certificateAuthorities` are the `@cert-authority` lines
  /// for the host (a plain key cannot be checked against them).
  case unknown(certificateAuthorities: [KnownHostsEntry])
  /// A `@revoked` line for the host holds this key (or the certificate's CA).
  case revoked(KnownHostsEntry)
}

extension KnownHosts {
  /// OpenSSH's `check_host_cert()` for a host certificate whose CA known_hosts trusts for the
  /// host (``verdict(for:host:)`` answered `.matched` with a `@cert-authority` line): nil when
  /// valid, else why not.
  ///
  /// `host` is the name without port (`HostKeyAlias` or the host name); `now` is seconds since
  /// the epoch. The certificate must be a host certificate, signed by the CA with a signature
  /// keyward verified (so not an RSA CA, which swift-crypto cannot verify) and not with SHA-1
  /// `ssh-rsa`, inside its validity window, listing `host` among its principals exactly (or no
  /// principals: any host, as OpenSSH allows), with no critical options.
  ///
  /// libssh2 1.10 never receives certificates; this is for a transport that negotiates them.
  public static func checkHostCertificate(_ key: PublicKey, host: String, now: UInt64) -> String? {
    guard let certificate = key.certificate else { return "not a certificate" }
    guard certificate.kind == .host else { return "certificate invalid: not a host certificate" }
    guard certificate.signatureVerified else {
      return "the CA's \(certificate.caAlgorithm.plainName) signature cannot be verified by keyward"
    }
    guard certificate.signatureAlgorithm != "ssh-rsa" else {
      return "certificate signed with ssh-rsa (SHA-1), which OpenSSH no longer accepts"
    }
    guard now >= certificate.validAfter else { return "certificate invalid: not yet valid" }
    guard now < certificate.validBefore else { return "certificate invalid: expired" }
    if !certificate.principals.isEmpty && !certificate.principals.contains(host) {
      return "certificate invalid: name '\(host)' is not a listed principal"
    }
    guard certificate.criticalOptions.isEmpty else {
      return "certificate for '\(host)' contains unsupported critical options"
    }
    return nil
  }
}

/// The kind of key an authorized_keys line holds, independent of the alias written on the line.
///
/// `ssh-rsa`, `rsa-sha2-256` and `rsa-sha2-512` are all ``rsa``; certificates are
/// ``certificate(of:)`` wrapping the algorithm of the certified key.
public enum KeyAlgorithm: Hashable, Sendable {
  case ed25519
  /// A FIDO `sk-ssh-ed25519@openssh.com` key.
  case skEd25519
  case ecdsa(EllipticCurve)
  /// A FIDO `sk-ecdsa-sha2-nistp256@openssh.com` key (always nistp256).
  case skEcdsa
  case rsa
  case dsa
  /// An OpenSSH certificate (`*-cert-v01@openssh.com`) of a key of the given plain algorithm.
  indirect case certificate(of: KeyAlgorithm)

  /// Whether this is a certificate.
  public var isCertificate: Bool {
    if case .certificate = self { return true }
    return false
  }

  /// The algorithm of the key itself: the certified key for a certificate, else `self`.
  public var plain: KeyAlgorithm {
    if case .certificate(let of) = self { return of.plain }
    return self
  }

  /// The canonical plain type name, as OpenSSH writes it in a key blob, e.g. `ssh-rsa`.
  public var plainName: String {
    switch plain {
    case .ed25519: return "ssh-ed25519"
    case .skEd25519: return "sk-ssh-ed25519@openssh.com"
    case .ecdsa(.nistp256): return "ecdsa-sha2-nistp256"
    case .ecdsa(.nistp384): return "ecdsa-sha2-nistp384"
    case .ecdsa(.nistp521): return "ecdsa-sha2-nistp521"
    case .skEcdsa: return "sk-ecdsa-sha2-nistp256@openssh.com"
    case .rsa: return "ssh-rsa"
    case .dsa: return "ssh-dss"
    case .certificate: return ""  // unreachable: plain is never a certificate
    }
  }

  /// The canonical type name, e.g. `ssh-ed25519` or `ssh-ed25519-cert-v01@openssh.com`.
  public var name: String {
    guard isCertificate else { return plainName }
    let base = plainName
    if let at = base.firstIndex(of: "@") {
      return base[..<at] + "-cert-v01" + base[at...]
    }
    return base + "-cert-v01@openssh.com"
  }

  /// The short name `ssh-keygen -l` prints in parentheses, e.g. `ED25519`, `ECDSA-SK`, `RSA-CERT`.
  public var displayName: String {
    switch self {
    case .ed25519: return "ED25519"
    case .skEd25519: return "ED25519-SK"
    case .ecdsa: return "ECDSA"
    case .skEcdsa: return "ECDSA-SK"
    case .rsa: return "RSA"
    case .dsa: return "DSA"
    case .certificate(let of): return of.plain.displayName + "-CERT"
    }
  }

  /// The algorithm for a type token exactly as sshd 9.2 accepts it (case-sensitive,
  /// including the `rsa-sha2-*` and `webauthn-sk-*` signature aliases), or `nil`.
  public init?(typeName: some StringProtocol) {
    var bytes = Array(typeName.utf8)
    guard
      let algorithm = bytes.withUnsafeMutableBufferPointer({
        KeyAlgorithm(typeBytes: UnsafeBufferPointer($0))
      })
    else { return nil }
    self = algorithm
  }

  /// The type-name table of sshd 9.2 (`keyimpls[]`, including "sigonly" aliases).
  static let typeNames: [(String, KeyAlgorithm)] = [
    ("ssh-ed25519", .ed25519),
    ("ssh-ed25519-cert-v01@openssh.com", .certificate(of: .ed25519)),
    ("sk-ssh-ed25519@openssh.com", .skEd25519),
    ("sk-ssh-ed25519-cert-v01@openssh.com", .certificate(of: .skEd25519)),
    ("ecdsa-sha2-nistp256", .ecdsa(.nistp256)),
    ("ecdsa-sha2-nistp384", .ecdsa(.nistp384)),
    ("ecdsa-sha2-nistp521", .ecdsa(.nistp521)),
    ("ecdsa-sha2-nistp256-cert-v01@openssh.com", .certificate(of: .ecdsa(.nistp256))),
    ("ecdsa-sha2-nistp384-cert-v01@openssh.com", .certificate(of: .ecdsa(.nistp384))),
    ("ecdsa-sha2-nistp521-cert-v01@openssh.com", .certificate(of: .ecdsa(.nistp521))),
    ("sk-ecdsa-sha2-nistp256@openssh.com", .skEcdsa),
    ("webauthn-sk-ecdsa-sha2-nistp256@openssh.com", .skEcdsa),
    ("sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", .certificate(of: .skEcdsa)),
    ("ssh-rsa", .rsa),
    ("rsa-sha2-256", .rsa),
    ("rsa-sha2-512", .rsa),
    ("ssh-rsa-cert-v01@openssh.com", .certificate(of: .rsa)),
    ("rsa-sha2-256-cert-v01@openssh.com", .certificate(of: .rsa)),
    ("rsa-sha2-512-cert-v01@openssh.com", .certificate(of: .rsa)),
    ("ssh-dss", .dsa),
    ("ssh-dss-cert-v01@openssh.com", .certificate(of: .dsa)),
  ]

  private static let byteTable: [([UInt8], KeyAlgorithm)] = typeNames.map { (Array($0.0.utf8), $0.1) }

  /// Looks a type token up by its bytes (the hot path of line parsing).
  init?(typeBytes: UnsafeBufferPointer<UInt8>) {
    for (name, algorithm) in Self.byteTable where name.count == typeBytes.count {
      if name.withUnsafeBufferPointer({ $0.elementsEqual(typeBytes) }) {
        self = algorithm
        return
      }
    }
    return nil
  }
}

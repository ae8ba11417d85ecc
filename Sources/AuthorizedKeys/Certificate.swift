import Crypto

/// The fields of an OpenSSH certificate (`PROTOCOL.certkeys`), as `cert_parse()` reads them.
public struct Certificate: Hashable, Sendable {
  /// Whether the certificate is for a user or a host.
  public enum Kind: UInt32, Hashable, Sendable, Codable {
    case user = 1
    case host = 2
  }

  public let serial: UInt64
  public let kind: Kind
  public let keyID: String
  public let principals: [String]
  /// Seconds since the epoch; 0 means "always".
  public let validAfter: UInt64
  /// Seconds since the epoch; `UInt64.max` means "forever".
  public let validBefore: UInt64
  /// Names of the critical options, in order.
  public let criticalOptions: [String]
  /// Names of the extensions, in order.
  public let extensions: [String]
  /// The algorithm of the signing CA key.
  public let caAlgorithm: KeyAlgorithm
  /// The SHA-256 fingerprint of the signing CA key.
  public let caFingerprint: String
  /// The signature algorithm named in the signature, e.g. `ssh-ed25519` or `rsa-sha2-512`.
  public let signatureAlgorithm: String
  /// Whether the CA signature was verified cryptographically.
  ///
  /// Ed25519, ECDSA and their FIDO (`sk-`) CA signatures are verified with swift-crypto and a
  /// bad signature makes the key invalid, as in sshd. swift-crypto has no RSA or DSA
  /// verification, so for RSA and DSA CAs (and webauthn signatures) only the signature's
  /// structure is checked (algorithm name, field layout, length against the modulus) and
  /// this is `false`: a forged RSA-signed certificate line would be reported valid where
  /// sshd skips it. Such a line can never authorise a login by itself (§3.7 of the spec).
  public let signatureVerified: Bool

  /// Reads the certificate fields that follow the certified key, up to and including the
  /// signature, and checks the signature. `reader` must be positioned after the key fields.
  static func parse(_ reader: inout WireReader) throws(KeyError) -> Certificate {
    let body = try readBody(&reader)
    let signedEnd = reader.offset
    guard let signatureRange = try? reader.readString("certificate signature") else {
      throw .invalidCertificate(reason: "missing signature")
    }
    guard let kind = Kind(rawValue: body.type) else {
      throw .invalidCertificate(
        reason: "unknown certificate type \(body.type), expected 1 (user) or 2 (host)")
    }
    let bytes = reader.bytes
    var principals: [String] = []
    var principalReader = WireReader(bytes, range: body.principals)
    while !principalReader.isAtEnd {
      guard principals.count < 256 else { throw .invalidCertificate(reason: "more than 256 principals") }
      guard let name = try? principalReader.readCString("principal") else {
        throw .invalidCertificate(reason: "malformed principals section")
      }
      principals.append(String(decoding: name, as: UTF8.self))
    }
    let critical = try names(bytes, body.critical, section: "critical options")
    let extensions = try names(bytes, body.extensions, section: "extensions")
    var caReader = WireReader(bytes, range: body.caKey)
    let ca: ParsedBlob
    do {
      ca = try BlobParser.parseKey(&caReader, allowCertificate: false)
    } catch {
      throw .invalidCertificate(reason: "invalid ca key: \(error)")
    }
    guard caReader.isAtEnd else { throw .invalidCertificate(reason: "invalid ca key: trailing bytes") }
    let signed = bytes[bytes.startIndex..<signedEnd]
    let (signatureAlgorithm, verified) = try VerificationCache.shared.verdict(for: bytes) {
      () throws(KeyError) in
      try SignatureCheck.verify(signature: bytes[signatureRange], signedData: signed, by: ca)
    }
    return Certificate(
      serial: body.serial, kind: kind, keyID: String(decoding: body.keyID, as: UTF8.self),
      principals: principals, validAfter: body.validAfter, validBefore: body.validBefore,
      criticalOptions: critical, extensions: extensions, caAlgorithm: ca.algorithm,
      caFingerprint: "SHA256:"
        + SHA256.hash(data: ca.plainBlob).withUnsafeBytes { Base64.encode($0, padding: false) },
      signatureAlgorithm: signatureAlgorithm, signatureVerified: verified)
  }

  private struct Body {
    var serial: UInt64
    var type: UInt32
    var keyID: ArraySlice<UInt8>
    var principals: Range<Int>
    var validAfter: UInt64
    var validBefore: UInt64
    var critical: Range<Int>
    var extensions: Range<Int>
    var caKey: Range<Int>
  }

  private static func readBody(_ reader: inout WireReader) throws(KeyError) -> Body {
    do {
      let serial = try reader.readUInt64("serial")
      let type = try reader.readUInt32("certificate type")
      let keyID = try reader.readCString("key id")
      let principals = try reader.readString("principals")
      let validAfter = try reader.readUInt64("valid after")
      let validBefore = try reader.readUInt64("valid before")
      let critical = try reader.readString("critical options")
      let extensions = try reader.readString("extensions")
      _ = try reader.readString("reserved")
      let caKey = try reader.readString("signature key")
      return Body(
        serial: serial, type: type, keyID: keyID, principals: principals, validAfter: validAfter,
        validBefore: validBefore, critical: critical, extensions: extensions, caKey: caKey)
    } catch {
      throw .invalidCertificate(reason: "truncated or malformed certificate fields (\(error))")
    }
  }

  private static func names(_ bytes: [UInt8], _ range: Range<Int>, section: String) throws(KeyError)
    -> [String]
  {
    var reader = WireReader(bytes, range: range)
    var names: [String] = []
    while !reader.isAtEnd {
      guard let name = try? reader.readString(section), (try? reader.readString(section)) != nil else {
        throw .invalidCertificate(reason: "malformed \(section) section")
      }
      names.append(String(decoding: bytes[name], as: UTF8.self))
    }
    return names
  }
}

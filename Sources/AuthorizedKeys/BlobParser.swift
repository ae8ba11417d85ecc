import Crypto

/// The key material of a parsed plain key, kept for certificate signature checks.
enum KeyMaterial: Sendable {
  case ed25519(ArraySlice<UInt8>)
  case skEd25519(ArraySlice<UInt8>, application: ArraySlice<UInt8>)
  case ecdsa(EllipticCurve, point: ArraySlice<UInt8>)
  case skEcdsa(point: ArraySlice<UInt8>, application: ArraySlice<UInt8>)
  case rsa(exponent: ArraySlice<UInt8>, modulus: ArraySlice<UInt8>)
  case dsa
}

/// The result of parsing a key blob.
struct ParsedBlob {
  var algorithm: KeyAlgorithm
  var bits: Int
  var plainBlob: [UInt8]
  var material: KeyMaterial
  var certificate: Certificate?
}

/// Parses and validates key blobs as `sshkey_from_blob_internal()` and the
/// `*_deserialize_public()` functions of OpenSSH 9.2 do.
enum BlobParser {
  /// Parses a decoded blob from an authorized_keys line and checks it against the type token
  /// (by key type, not by name, so aliases match), as `sshkey_read()` does.
  static func parse(
    _ blob: [UInt8], lineType: KeyAlgorithm, lineTypeName: UnsafeBufferPointer<UInt8>
  ) throws(KeyError) -> ParsedBlob {
    guard !blob.isEmpty else { throw .emptyBlob }
    var reader = WireReader(blob)
    let parsed = try parseKey(&reader, allowCertificate: true)
    guard reader.isAtEnd else { throw .trailingBytes(count: reader.remaining) }
    guard sameKeyType(lineType, parsed.algorithm) else {
      throw .typeMismatch(line: String(decoding: lineTypeName, as: UTF8.self), blob: parsed.algorithm.name)
    }
    if case .ecdsa(let lineCurve) = lineType.plain, case .ecdsa(let blobCurve) = parsed.algorithm.plain,
      lineCurve != blobCurve
    {
      throw .curveMismatch(expected: lineCurve.rawValue, found: blobCurve.rawValue)
    }
    return parsed
  }

  /// Whether two algorithms are the same OpenSSH key type enum (ECDSA curves not compared).
  static func sameKeyType(_ a: KeyAlgorithm, _ b: KeyAlgorithm) -> Bool {
    switch (a, b) {
    case (.ecdsa, .ecdsa): return true
    case (.certificate(let x), .certificate(let y)): return sameKeyType(x, y)
    default: return a == b
    }
  }

  /// The algorithm for a type name found inside a blob (`sshkey_type_from_name`): exact
  /// names including aliases, or, for plain types, the short name in any case (`RSA`).
  static func algorithm(blobName name: ArraySlice<UInt8>) -> (KeyAlgorithm, isShortName: Bool)? {
    let found: KeyAlgorithm? = name.withUnsafeBufferPointer { KeyAlgorithm(typeBytes: $0) }
    if let found { return (found, false) }
    let lower = String(decoding: name, as: UTF8.self).lowercased()
    switch lower {
    case "ed25519": return (.ed25519, true)
    case "ed25519-sk": return (.skEd25519, true)
    case "ecdsa": return (.ecdsa(.nistp256), true)
    case "ecdsa-sk": return (.skEcdsa, true)
    case "rsa": return (.rsa, true)
    case "dsa": return (.dsa, true)
    default: return nil
    }
  }

  /// Reads one key (type name and fields) from `reader`; trailing data is left to the caller.
  static func parseKey(_ reader: inout WireReader, allowCertificate: Bool) throws(KeyError) -> ParsedBlob {
    let name = try reader.readCString("key type")
    guard let (algorithm, isShortName) = algorithm(blobName: name) else {
      throw .unknownBlobType(String(decoding: name, as: UTF8.self))
    }
    if algorithm.isCertificate && !allowCertificate {
      throw .invalidCertificate(reason: "the ca key is itself a certificate")
    }
    if isShortName, case .ecdsa = algorithm.plain {
      // sshkey_ecdsa_nid_from_name() knows no curve for the short name "ECDSA".
      throw .unknownBlobType(String(decoding: name, as: UTF8.self))
    }
    if isShortName, algorithm == .skEcdsa {
      throw .unknownBlobType(String(decoding: name, as: UTF8.self))
    }
    if algorithm.isCertificate {
      _ = try reader.readString("certificate nonce")
    }
    var writer = WireWriter()
    writer.bytes.reserveCapacity(reader.remaining + 64)
    writer.writeString(algorithm.plainName)
    let bits: Int
    let material: KeyMaterial
    switch algorithm.plain {
    case .ed25519, .skEd25519:
      let key = try reader.readString("ed25519 public key")
      guard key.count == 32 else { throw .invalidEd25519Length(key.count) }
      writer.writeString(blobSlice(reader, key))
      bits = 256
      if algorithm.plain == .skEd25519 {
        let application = try reader.readCString("sk application")
        writer.writeString(application)
        material = .skEd25519(blobSlice(reader, key), application: application)
      } else {
        material = .ed25519(blobSlice(reader, key))
      }
    case .ecdsa(let curve):
      let point = try readECPoint(&reader, curve: curve, writer: &writer)
      bits = curve.bits
      material = .ecdsa(curve, point: point)
    case .skEcdsa:
      let point = try readECPoint(&reader, curve: .nistp256, writer: &writer)
      let application = try reader.readCString("sk application")
      writer.writeString(application)
      bits = 256
      material = .skEcdsa(point: point, application: application)
    case .rsa:
      let exponent = try reader.readMPInt("rsa exponent")
      let modulus = try reader.readMPInt("rsa modulus")
      bits = bitLength(modulus)
      guard bits >= 1024 && bits <= 16384 else { throw .rsaModulusSize(bits: bits) }
      writer.writeMPInt(exponent)
      writer.writeMPInt(modulus)
      material = .rsa(exponent: exponent, modulus: modulus)
    case .dsa:
      let p = try reader.readMPInt("dsa p")
      let q = try reader.readMPInt("dsa q")
      let g = try reader.readMPInt("dsa g")
      let y = try reader.readMPInt("dsa public key")
      for value in [p, q, g, y] { writer.writeMPInt(value) }
      bits = bitLength(p)
      material = .dsa
    case .certificate:
      throw .unknownBlobType(String(decoding: name, as: UTF8.self))
    }
    var certificate: Certificate?
    if algorithm.isCertificate {
      certificate = try Certificate.parse(&reader)
    }
    return ParsedBlob(
      algorithm: algorithm, bits: bits, plainBlob: writer.bytes, material: material, certificate: certificate)
  }

  private static func blobSlice(_ reader: WireReader, _ range: Range<Int>) -> ArraySlice<UInt8> {
    reader.bytes[range]
  }

  /// Reads the curve name and point of an ECDSA key and validates the point as
  /// `get_ec()` and `sshkey_ec_validate_public()` do.
  private static func readECPoint(
    _ reader: inout WireReader, curve: EllipticCurve, writer: inout WireWriter
  ) throws(KeyError) -> ArraySlice<UInt8> {
    let curveName = try reader.readCString("ecdsa curve")
    guard curveName.elementsEqual(curve.rawValue.utf8) else {
      throw .curveMismatch(expected: curve.rawValue, found: String(decoding: curveName, as: UTF8.self))
    }
    let range = try reader.readString("ecdsa point")
    let point = reader.bytes[range]
    try ECPoint.validate(point, curve: curve)
    writer.writeString(curve.rawValue)
    writer.writeString(point)
    return point
  }

  /// The number of significant bits of a big-endian magnitude without leading zeros.
  static func bitLength(_ magnitude: ArraySlice<UInt8>) -> Int {
    guard let first = magnitude.first else { return 0 }
    return (magnitude.count - 1) * 8 + (8 - first.leadingZeroBitCount)
  }
}

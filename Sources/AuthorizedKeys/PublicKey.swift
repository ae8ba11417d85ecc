import Crypto

/// An OpenSSH public key as sshd reads it from an authorized_keys line: a type token and a
/// strictly decoded, structurally validated key blob.
///
/// Equality and hashing follow sshd's key identity (`sshkey_equal`): two keys are equal
/// when they hold the same key material, whatever alias was written on the line
/// (`rsa-sha2-512` equals `ssh-rsa`) and however the integers were padded. A certificate
/// is never equal to its plain key; two certificates are equal when their blobs are.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
  /// The type token as written on the line, e.g. `ssh-ed25519` or `rsa-sha2-512`.
  public let type: String
  /// The base64 text of the blob: the token as written minus any whitespace (strict base64
  /// has exactly one encoding per blob).
  public var base64: String { Base64.encode(blob) }
  /// The decoded wire-format blob, exactly as written.
  public let blob: [UInt8]
  /// The kind of key, resolved from the type token and the blob.
  public let algorithm: KeyAlgorithm
  /// The key size in bits as `ssh-keygen -l` prints it (certificates: of the certified key).
  public let bits: Int
  /// The canonical plain-key blob (`to_blob(key, force_plain=1)`): the fingerprint input.
  public let plainBlob: [UInt8]
  /// The certificate fields, for `*-cert-v01@openssh.com` keys.
  public let certificate: Certificate?

  /// Parses a type token and its base64 blob exactly as sshd 9.2's `sshkey_read()` does.
  ///
  /// Whitespace inside `base64` is ignored, as OpenSSH's decoder does.
  public init(type: String, base64: some StringProtocol) throws(KeyError) {
    let typeBytes = Array(type.utf8)
    let b64 = Array(base64.utf8)
    self = try typeBytes.withUnsafeBufferPointer { (t) throws(KeyError) -> PublicKey in
      try b64.withUnsafeBufferPointer { (b) throws(KeyError) -> PublicKey in
        try PublicKey(typeToken: t, base64Token: b)
      }
    }
  }

  /// Parses `type base64 [comment]` (leading spaces/TABs allowed); the comment is ignored.
  public init(parsing text: String) throws(KeyError) {
    let bytes = Array(text.utf8)
    self = try bytes.withUnsafeBufferPointer { (buffer) throws(KeyError) -> PublicKey in
      var index = 0
      while index < buffer.count, buffer[index] == 0x20 || buffer[index] == 0x09 { index += 1 }
      return try KeyReader.read(buffer, from: &index)
    }
  }

  /// Builds a key from already split tokens (used by the line parser).
  init(typeToken: UnsafeBufferPointer<UInt8>, base64Token: UnsafeBufferPointer<UInt8>) throws(KeyError) {
    guard !typeToken.isEmpty else { throw .missingType }
    guard let lineAlgorithm = KeyAlgorithm(typeBytes: typeToken) else {
      throw .unknownKeyType(String(decoding: typeToken, as: UTF8.self))
    }
    let decoded = try Base64.decodeStrict(base64Token)
    let parsed = try BlobParser.parse(decoded, lineType: lineAlgorithm, lineTypeName: typeToken)
    self.type = String(decoding: typeToken, as: UTF8.self)
    self.blob = decoded
    self.algorithm = parsed.algorithm
    self.bits = parsed.bits
    // Share storage when the blob already is the canonical plain key (the common case).
    self.plainBlob = parsed.plainBlob == decoded ? decoded : parsed.plainBlob
    self.certificate = parsed.certificate
  }

  /// Whether this is an OpenSSH certificate.
  public var isCertificate: Bool { algorithm.isCertificate }

  /// The SHA-256 fingerprint exactly as `ssh-keygen -l -E sha256` prints it, e.g. `SHA256:…`.
  /// For a certificate this is the fingerprint of the certified key.
  public var fingerprint: String {
    let digest = SHA256.hash(data: plainBlob)
    return "SHA256:" + digest.withUnsafeBytes { Base64.encode($0, padding: false) }
  }

  /// The legacy MD5 fingerprint as `ssh-keygen -l -E md5` prints it, e.g. `MD5:aa:bb:…`.
  public var md5Fingerprint: String {
    let digest = Insecure.MD5.hash(data: plainBlob)
    let hex: [String] = digest.map { byte in
      let digits = Array("0123456789abcdef")
      return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
    return "MD5:" + hex.joined(separator: ":")
  }

  /// `type base64`, the canonical text of the key.
  public var description: String { type + " " + base64 }

  private var identity: [UInt8] { isCertificate ? blob : plainBlob }

  public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
    lhs.isCertificate == rhs.isCertificate && lhs.identity == rhs.identity
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(isCertificate)
    hasher.combine(identity)
  }
}

/// Why the key part of an authorized_keys line (`type base64`) could not be read.
///
/// Each case corresponds to a way `sshkey_read()` in sshd 9.2 refuses a key; the
/// ``description`` says what is wrong and how to fix it.
public enum KeyError: Error, Hashable, Sendable, CustomStringConvertible {
  /// No key type token, e.g. an empty string.
  case missingType
  /// The type token is not one sshd 9.2 accepts (names are case-sensitive).
  case unknownKeyType(String)
  /// A key type token without a base64 blob after it.
  case missingBlob(type: String)
  /// The blob is not strict base64 (standard alphabet, mandatory padding, zero unused bits).
  case invalidBase64(reason: String)
  /// The blob decoded to nothing.
  case emptyBlob
  /// The blob ends before a field is complete.
  case truncatedBlob(field: String)
  /// A field OpenSSH rejects as malformed, e.g. a name with an embedded NUL byte.
  case malformedField(field: String)
  /// Bytes follow the last field of the key.
  case trailingBytes(count: Int)
  /// The type named inside the blob is not a key type sshd knows.
  case unknownBlobType(String)
  /// The type token on the line and the type inside the blob are different key types.
  case typeMismatch(line: String, blob: String)
  /// The ECDSA curve named in the blob does not belong to the key type.
  case curveMismatch(expected: String, found: String)
  /// The ECDSA point is not an uncompressed point on the curve.
  case invalidECPoint(curve: String)
  /// An Ed25519 public key that is not 32 bytes long.
  case invalidEd25519Length(Int)
  /// An mpint with its most significant bit set (negative).
  case negativeInteger(field: String)
  /// An mpint longer than sshd allows (2048 bytes plus a sign byte).
  case integerTooLarge(field: String)
  /// An RSA modulus shorter than 1024 or longer than 16384 bits.
  case rsaModulusSize(bits: Int)
  /// A malformed certificate (unknown certificate type, bad option or extension section, bad CA key).
  case invalidCertificate(reason: String)
  /// The CA signature of a certificate does not verify.
  case certificateSignatureInvalid

  public var description: String {
    switch self {
    case .missingType:
      return "missing key type: expected 'TYPE BASE64 [COMMENT]'"
    case .unknownKeyType(let type):
      return
        "unknown key type '\(type)': expected one of 'ssh -Q key' (e.g. 'ssh-ed25519'); key types are case-sensitive"
    case .missingBlob(let type):
      return "key type '\(type)' is not followed by a space and a base64 key blob"
    case .invalidBase64(let reason):
      return "key blob is not valid base64: \(reason); copy the key again from its .pub file"
    case .emptyBlob:
      return "key blob is empty"
    case .truncatedBlob(let field):
      return "key blob is truncated in field '\(field)'; copy the key again from its .pub file"
    case .malformedField(let field):
      return "key blob field '\(field)' is malformed"
    case .trailingBytes(let count):
      return "key blob has \(count) unexpected trailing byte\(count == 1 ? "" : "s") after the key"
    case .unknownBlobType(let name):
      return "key blob holds unknown key type '\(name)'"
    case .typeMismatch(let line, let blob):
      return "key type '\(line)' on the line does not match type '\(blob)' inside the key blob"
    case .curveMismatch(let expected, let found):
      return "ecdsa key blob names curve '\(found)' but its type requires '\(expected)'"
    case .invalidECPoint(let curve):
      return "ecdsa key is not an uncompressed point on curve '\(curve)'"
    case .invalidEd25519Length(let count):
      return "ed25519 public key is \(count) bytes long, expected 32"
    case .negativeInteger(let field):
      return "key field '\(field)' is a negative integer (missing leading zero byte)"
    case .integerTooLarge(let field):
      return "key field '\(field)' is larger than sshd accepts"
    case .rsaModulusSize(let bits):
      return "rsa modulus has \(bits) bits, sshd accepts 1024 to 16384 bits"
    case .invalidCertificate(let reason):
      return "invalid certificate: \(reason)"
    case .certificateSignatureInvalid:
      return "certificate signature does not verify against its ca key (tampered or corrupt certificate)"
    }
  }
}

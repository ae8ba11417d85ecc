import Crypto

/// Checks a certificate's CA signature as `sshkey_verify()` does, with swift-crypto.
enum SignatureCheck {
  /// Returns the signature algorithm name and whether the signature was verified
  /// cryptographically; throws when the signature is malformed or does not verify.
  static func verify(
    signature: ArraySlice<UInt8>, signedData: ArraySlice<UInt8>, by ca: ParsedBlob
  ) throws(KeyError) -> (String, Bool) {
    guard !signature.isEmpty else { throw .certificateSignatureInvalid }
    var reader = WireReader(Array(signature))
    func fail() -> KeyError { .certificateSignatureInvalid }
    guard let typeName = try? reader.readCString("signature type") else { throw fail() }
    let type = String(decoding: typeName, as: UTF8.self)
    switch ca.material {
    case .ed25519(let key):
      guard type == "ssh-ed25519", let blob = try? reader.readString("signature"), reader.isAtEnd,
        blob.count <= 64
      else { throw fail() }
      let publicKey: Curve25519.Signing.PublicKey
      do { publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: key) } catch { throw fail() }
      guard publicKey.isValidSignature(reader.bytes[blob], for: signedData) else { throw fail() }
      return (type, true)
    case .skEd25519(let key, let application):
      guard type == "sk-ssh-ed25519@openssh.com", let blob = try? reader.readString("signature"),
        blob.count == 64, let flags = try? reader.readUInt8("flags"),
        let counter = try? reader.readUInt32("counter"), reader.isAtEnd
      else { throw fail() }
      let message = skMessage(application: application, flags: flags, counter: counter, data: signedData)
      let publicKey: Curve25519.Signing.PublicKey
      do { publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: key) } catch { throw fail() }
      guard publicKey.isValidSignature(reader.bytes[blob], for: message) else { throw fail() }
      return (type, true)
    case .ecdsa(let curve, let point):
      guard type == "ecdsa-sha2-\(curve.rawValue)", let inner = try? reader.readString("signature"),
        reader.isAtEnd
      else { throw fail() }
      let raw = try rawECDSASignature(reader.bytes, inner, curve: curve)
      guard ecdsaValid(raw, point: point, curve: curve, data: signedData) else { throw fail() }
      return (type, true)
    case .skEcdsa(let point, let application):
      if type == "webauthn-sk-ecdsa-sha2-nistp256@openssh.com" {
        // Webauthn signatures wrap clientData JSON; only their presence is checked here.
        return (type, false)
      }
      guard type == "sk-ecdsa-sha2-nistp256@openssh.com", let inner = try? reader.readString("signature"),
        let flags = try? reader.readUInt8("flags"), let counter = try? reader.readUInt32("counter"),
        reader.isAtEnd
      else { throw fail() }
      let raw = try rawECDSASignature(reader.bytes, inner, curve: .nistp256)
      let message = skMessage(application: application, flags: flags, counter: counter, data: signedData)
      guard ecdsaValid(raw, point: point, curve: .nistp256, data: message[...]) else { throw fail() }
      return (type, true)
    case .rsa(_, let modulus):
      // No RSA in swift-crypto's Crypto module: check the structure `ssh_rsa_verify()`
      // checks before RSA_verify (algorithm name, no trailing data, length <= modulus).
      guard ["ssh-rsa", "rsa-sha2-256", "rsa-sha2-512"].contains(type),
        let blob = try? reader.readString("signature"), reader.isAtEnd, !blob.isEmpty,
        blob.count <= modulus.count
      else { throw fail() }
      return (type, false)
    case .dsa:
      // No DSA in swift-crypto: check the layout `ssh_dss_verify()` requires (40-byte r||s).
      guard type == "ssh-dss", let blob = try? reader.readString("signature"), reader.isAtEnd,
        blob.count == 40
      else { throw fail() }
      return (type, false)
    }
  }

  /// SHA256(application) || flags || counter || SHA256(data): what a FIDO key signs.
  private static func skMessage(
    application: ArraySlice<UInt8>, flags: UInt8, counter: UInt32, data: ArraySlice<UInt8>
  ) -> [UInt8] {
    var message = Array(SHA256.hash(data: application))
    message.append(flags)
    message.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: counter >> $0) })
    message.append(contentsOf: SHA256.hash(data: data))
    return message
  }

  /// Converts the SSH mpint pair (r, s) to the fixed-length r||s swift-crypto expects.
  private static func rawECDSASignature(
    _ bytes: [UInt8], _ range: Range<Int>, curve: EllipticCurve
  ) throws(KeyError) -> [UInt8] {
    var reader = WireReader(bytes, range: range)
    guard let r = try? reader.readMPInt("r"), let s = try? reader.readMPInt("s"), reader.isAtEnd else {
      throw .certificateSignatureInvalid
    }
    let length = curve.coordinateLength
    guard r.count <= length, s.count <= length else { throw .certificateSignatureInvalid }
    var raw = [UInt8](repeating: 0, count: 2 * length)
    raw.replaceSubrange((length - r.count)..<length, with: r)
    raw.replaceSubrange((2 * length - s.count)..<(2 * length), with: s)
    return raw
  }

  private static func ecdsaValid(
    _ raw: [UInt8], point: ArraySlice<UInt8>, curve: EllipticCurve, data: ArraySlice<UInt8>
  ) -> Bool {
    do {
      switch curve {
      case .nistp256:
        let key = try P256.Signing.PublicKey(x963Representation: point)
        return key.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: raw), for: data)
      case .nistp384:
        let key = try P384.Signing.PublicKey(x963Representation: point)
        return key.isValidSignature(try P384.Signing.ECDSASignature(rawRepresentation: raw), for: data)
      case .nistp521:
        let key = try P521.Signing.PublicKey(x963Representation: point)
        return key.isValidSignature(try P521.Signing.ECDSASignature(rawRepresentation: raw), for: data)
      }
    } catch {
      return false
    }
  }
}

import Crypto

/// Validation of ECDSA public points, matching OpenSSH's `get_ec()` and
/// `sshkey_ec_validate_public()`: swift-crypto checks that the point is on the curve;
/// the extra range checks OpenSSH applies to the coordinates are comparisons done here.
enum ECPoint {
  /// The group orders minus one, big-endian, one coordinate long.
  private static let p256OrderMinusOne = hex(
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632550")
  private static let p384OrderMinusOne = hex(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52972")
  private static let p521OrderMinusOne = hex(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386408"
  )

  private static func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
      bytes.append(UInt8(nibble(high) << 4 | nibble(low)))
    }
    return bytes
  }

  private static func nibble(_ c: UInt8) -> UInt8 {
    c >= UInt8(ascii: "A") ? c - UInt8(ascii: "A") + 10 : c - UInt8(ascii: "0")
  }

  static func validate(_ point: ArraySlice<UInt8>, curve: EllipticCurve) throws(KeyError) {
    let length = curve.coordinateLength
    guard point.count == 1 + 2 * length, point.first == 0x04 else {
      throw .invalidECPoint(curve: curve.rawValue)
    }
    let limit: [UInt8]
    switch curve {
    case .nistp256: limit = p256OrderMinusOne
    case .nistp384: limit = p384OrderMinusOne
    case .nistp521: limit = p521OrderMinusOne
    }
    let first = point.startIndex + 1
    for coordinate in [point[first..<(first + length)], point[(first + length)...]] {
      var start = coordinate.startIndex
      while start < coordinate.endIndex, coordinate[start] == 0 { start += 1 }
      // log2(coordinate) > log2(order) / 2
      guard BlobParser.bitLength(coordinate[start...]) > curve.bits / 2 else {
        throw .invalidECPoint(curve: curve.rawValue)
      }
      // coordinate < order - 1 (same-length big-endian comparison)
      guard coordinate.lexicographicallyPrecedes(limit) else {
        throw .invalidECPoint(curve: curve.rawValue)
      }
    }
    // On the curve: swift-crypto (BoringSSL) refuses points that are not.
    do {
      switch curve {
      case .nistp256: _ = try P256.Signing.PublicKey(x963Representation: point)
      case .nistp384: _ = try P384.Signing.PublicKey(x963Representation: point)
      case .nistp521: _ = try P521.Signing.PublicKey(x963Representation: point)
      }
    } catch {
      throw .invalidECPoint(curve: curve.rawValue)
    }
  }
}

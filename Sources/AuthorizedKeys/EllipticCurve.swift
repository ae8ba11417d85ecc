/// An ECDSA curve OpenSSH supports.
public enum EllipticCurve: String, Hashable, Sendable, CaseIterable, Codable {
  case nistp256
  case nistp384
  case nistp521

  /// The curve size in bits, as `ssh-keygen -l` prints it.
  public var bits: Int {
    switch self {
    case .nistp256: return 256
    case .nistp384: return 384
    case .nistp521: return 521
    }
  }

  /// The byte length of one coordinate.
  var coordinateLength: Int { (bits + 7) / 8 }
}

/// Why a saved plan cannot be used.
public enum PlanFileError: Error, Hashable, Sendable, CustomStringConvertible {
  case unsupportedVersion(Int)
  case corrupt(String)
  /// The plan's facts do not hold together (changed by hand, or damaged): every reason.
  case tampered([String])

  public var description: String {
    switch self {
    case .unsupportedVersion(let version):
      "plan file format version \(version) is not supported by this keyward (it reads version"
        + " \(PlanFile.formatVersion)); make the plan again with this keyward"
    case .corrupt(let why): why
    case .tampered(let why):
      "the plan file was changed after it was made, or is damaged; nothing was applied: "
        + why.joined(separator: "; ")
    }
  }
}

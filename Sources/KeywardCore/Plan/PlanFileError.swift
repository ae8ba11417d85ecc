/// Why a saved plan cannot be used.
public enum PlanFileError: Error, Hashable, Sendable, CustomStringConvertible {
  case unsupportedVersion(Int)
  case corrupt(String)

  public var description: String {
    switch self {
    case .unsupportedVersion(let version):
      "plan file format version \(version) is not supported by this keyward (it reads version"
        + " \(PlanDocument.currentVersion)); make the plan again with this keyward"
    case .corrupt(let why): why
    }
  }
}

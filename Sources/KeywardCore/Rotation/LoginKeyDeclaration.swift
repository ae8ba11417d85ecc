import AuthorizedKeys
import Foundation

/// Where the manifests declare the old login key, and the change that makes them declare the
/// new one instead: after a rotation, a manifest that still grants the old key would put it
/// back (and, in exclusive mode, take the new one away) at the next apply.
public struct LoginKeyDeclaration: Hashable, Sendable {
  /// The manifest name of the key.
  public var keyName: String
  /// The old key as the manifest declares it.
  public var key: PublicKey
  /// Where the key is defined.
  public var location: SourceLocation

  public init(keyName: String, key: PublicKey, location: SourceLocation) {
    self.keyName = keyName
    self.key = key
    self.location = location
  }

  /// Every definition of a key in `old` that some target of `desired` is granted.
  public static func find(in desired: DesiredState, old: Set<String>) -> [LoginKeyDeclaration] {
    var found: Set<LoginKeyDeclaration> = []
    for target in desired.targets {
      for entry in target.entries where old.contains(entry.key.fingerprint) {
        if let location = entry.definition {
          found.insert(LoginKeyDeclaration(keyName: entry.keyName, key: entry.key, location: location))
        }
      }
    }
    return found.sorted { $0.location < $1.location }
  }

  /// `line` with the old key's material (type and base64) replaced by `new`'s, or nil when the
  /// line does not hold the old key inline (a `file:` key: that file must change instead).
  public static func replacing(in line: String, old: PublicKey, with new: PublicKey) -> String? {
    let material = old.type + " " + old.base64
    if let range = line.range(of: material) {
      return line.replacingCharacters(in: range, with: new.type + " " + new.base64)
    }
    return nil
  }
}

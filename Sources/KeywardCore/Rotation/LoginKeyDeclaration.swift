import AuthorizedKeys
import Foundation

/// Where the manifests declare the old login key, and the change that makes them declare the
/// new one instead: after a rotation, a manifest that still grants the old key would put it
/// back (and, in exclusive mode, take the new one away) at the next apply.
public struct LoginKeyDeclaration: Hashable, Sendable {
  /// The manifest name of the key.
  public var keyName: String
  /// The old key as the manifest declares it, and its comment.
  public var key: PublicKey
  public var comment: String?
  /// Where the key is defined.
  public var location: SourceLocation

  public init(keyName: String, key: PublicKey, comment: String? = nil, location: SourceLocation) {
    self.keyName = keyName
    self.key = key
    self.comment = comment
    self.location = location
  }

  /// Every definition of a key in `old` that some target of `desired` is granted.
  public static func find(in desired: DesiredState, old: Set<String>) -> [LoginKeyDeclaration] {
    var found: Set<LoginKeyDeclaration> = []
    for target in desired.targets {
      for entry in target.entries where old.contains(entry.key.fingerprint) {
        if let location = entry.definition {
          found.insert(
            LoginKeyDeclaration(
              keyName: entry.keyName, key: entry.key, comment: entry.comment, location: location))
        }
      }
    }
    return found.sorted { $0.location < $1.location }
  }

  /// `line` with the old key's material (type and base64) replaced by `new`'s, and with
  /// `newComment` (when given) in place of the old comment that follows it, so that the
  /// manifest declares exactly the line the rotation wrote. Nil when the line does not hold the
  /// old key inline (a `file:` key: that file must change instead).
  public func replacing(in line: String, with new: PublicKey, comment newComment: String?) -> String? {
    let material = key.type + " " + key.base64
    guard let range = line.range(of: material) else { return nil }
    var end = range.upperBound
    if newComment != nil, let comment, line[end...].hasPrefix(" " + comment) {
      end = line.index(end, offsetBy: comment.count + 1)
    }
    let replacement = new.type + " " + new.base64 + (newComment.map { " " + $0 } ?? "")
    return line.replacingCharacters(in: range.lowerBound..<end, with: replacement)
  }
}

import AuthorizedKeys
import Foundation

/// One line a target must hold: a key with its options and comment, and where it comes from.
public struct DesiredEntry: Hashable, Sendable {
  /// The manifest name of the key (e.g. `alice`).
  public var keyName: String
  public var key: PublicKey
  /// The options to write, in order; includes `expiry-time` when the key expires.
  public var options: [KeyOption]
  public var comment: String?
  /// The moment the key stops being valid (`expires`), if any.
  public var expires: Date?
  /// A break-glass key: no plan may remove it.
  public var isProtected: Bool
  /// The access rule that grants it, e.g. `access[2]`, and its location.
  public var rule: String
  public var ruleLocation: SourceLocation?
  /// Where the key is defined.
  public var definition: SourceLocation?

  public init(
    keyName: String, key: PublicKey, options: [KeyOption] = [], comment: String? = nil,
    expires: Date? = nil, isProtected: Bool = false, rule: String = "",
    ruleLocation: SourceLocation? = nil, definition: SourceLocation? = nil
  ) {
    self.keyName = keyName
    self.key = key
    self.options = options
    self.comment = comment
    self.expires = expires
    self.isProtected = isProtected
    self.rule = rule
    self.ruleLocation = ruleLocation
    self.definition = definition
  }
}

/// One place a manifest takes keys from a remote source: what `keyward lock` fetches.
public struct KeySourceUse: Sendable, Hashable {
  public var source: KeySource
  /// The key name the keys are granted under.
  public var keyName: String
  /// `allow_empty: true`: the source may serve no key at all.
  public var allowsEmpty: Bool
  public var location: SourceLocation

  public init(source: KeySource, keyName: String, allowsEmpty: Bool, location: SourceLocation) {
    self.source = source
    self.keyName = keyName
    self.allowsEmpty = allowsEmpty
    self.location = location
  }
}

/// How one source differs upstream from what `keyward.lock` pins: keys that appeared, keys
/// that vanished, or the fetch error that stopped the comparison.
public struct SourceChange: Sendable, Equatable {
  public var source: KeySource
  public var added: [LockedKey]
  public var removed: [LockedKey]
  /// Why the source could not be fetched; nothing is compared then.
  public var error: String?
  /// The source has no pin in the lock yet.
  public var isNew: Bool

  public init(
    source: KeySource, added: [LockedKey] = [], removed: [LockedKey] = [], error: String? = nil,
    isNew: Bool = false
  ) {
    self.source = source
    self.added = added
    self.removed = removed
    self.error = error
    self.isNew = isNew
  }

  public var hasChanges: Bool { !added.isEmpty || !removed.isEmpty || isNew }

  /// Compares what a source serves now with its pin; keys are compared by material.
  public static func compare(source: KeySource, locked: LockFile.Entry?, fetched: [LockedKey]) -> SourceChange
  {
    let before = Set((locked?.keys ?? []).map(\.key))
    let now = Set(fetched.map(\.key))
    return SourceChange(
      source: source, added: fetched.filter { !before.contains($0.key) },
      removed: (locked?.keys ?? []).filter { !now.contains($0.key) }, isNew: locked == nil)
  }
}

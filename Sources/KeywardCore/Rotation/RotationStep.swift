/// The points of a rotation wave, in order; `LoginKeyRotation.checkpoint` hears each one
/// (tests pause there to be killed at a known moment).
public enum RotationStep: String, Hashable, Sendable {
  /// The wave's files were read (with the old key, or the new one where the old is gone).
  case read
  /// The new key was written beside the old one.
  case added
  /// A fresh login with the new key alone worked and found the new key.
  case proven
  /// The old key was removed (and a fresh login with the new key worked after the write).
  case removed
}

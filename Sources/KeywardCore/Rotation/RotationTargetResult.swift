import Foundation

/// What a rotation did to one account's file.
public struct RotationTargetResult: Hashable, Sendable, Codable {
  public enum Status: String, Hashable, Sendable, Codable {
    /// The new key was added, proven by a fresh login with it alone, and the old key removed.
    case rotated
    /// The file already held only the new key (a login with it worked).
    case alreadyRotated = "already-rotated"
    /// The file holds neither key, and another file of the same account holds the login key:
    /// nothing to do here.
    case withoutLoginKey = "without-login-key"
    /// Stopped on the way; the old key (and perhaps the new one) still logs in.
    case failed
    /// Not reached: the rotation stopped at an earlier wave.
    case skipped

    /// How reports name it: `already rotated`.
    public var label: String { rawValue.replacingOccurrences(of: "-", with: " ") }
  }

  public var target: TargetID
  public var status: Status
  /// The state found on the host before this run touched it.
  public var found: LoginKeyState?
  /// Why it failed or was skipped.
  public var message: String?

  public init(target: TargetID, status: Status, found: LoginKeyState? = nil, message: String? = nil) {
    self.target = target
    self.status = status
    self.found = found
    self.message = message
  }

  /// Rotated now or before.
  public var isDone: Bool { status == .rotated || status == .alreadyRotated || status == .withoutLoginKey }
}

import Foundation

/// The knobs of one planning run. Guards are on by default.
public struct PlannerOptions: Hashable, Sendable {
  /// "Now", for expiry: a parameter so that planning stays a pure function.
  public var now: Date
  /// Keys expiring within this interval are flagged.
  public var expiryWarning: TimeInterval
  /// Allow removing the key the connection authenticated with.
  public var allowSelfRemoval: Bool
  /// Allow a plan that leaves an account with no key at all.
  public var allowEmpty: Bool
  /// Refuse the whole plan when it removes more keys than this (`nil`: no limit).
  public var maxRemovals: Int?
  /// The manifest revision (a git commit) recorded in each file written (`WriteRecord`).
  public var revision: String?

  public init(
    now: Date = Date(), expiryWarning: TimeInterval = 14 * 86_400, allowSelfRemoval: Bool = false,
    allowEmpty: Bool = false, maxRemovals: Int? = nil, revision: String? = nil
  ) {
    self.now = now
    self.expiryWarning = expiryWarning
    self.allowSelfRemoval = allowSelfRemoval
    self.allowEmpty = allowEmpty
    self.maxRemovals = maxRemovals
    self.revision = revision
  }
}

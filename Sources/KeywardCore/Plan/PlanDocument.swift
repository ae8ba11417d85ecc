import Foundation

/// The machine-readable view of a plan (`plan --format json`, `show --format json`;
/// `schemas/plan.schema.json`). It carries no file contents and is never read back: saved plans
/// are `PlanFile`s.
public struct PlanDocument: Codable, Hashable, Sendable {
  /// The version of this view.
  public static let currentVersion = 1

  public var formatVersion: Int
  public var targets: [Target]
  public var summary: PlanSummary
  public var errors: [String]
  /// The sshd model of each host, sorted by host, when it was read.
  public var sshd: [SSHDModel]?
  /// The transport that served each host and why (plans made over SSH).
  public var transports: [String: TransportChoice]?
  /// The waves apply will use, when the plan has a rollout.
  public var rollout: RolloutView?

  /// A rollout as the plan shows it: its sizes and the hosts of each wave, in order.
  public struct RolloutView: Codable, Hashable, Sendable {
    public var sizes: String
    public var waves: [[String]]
  }

  public struct Target: Codable, Hashable, Sendable {
    public var target: String
    public var user: String
    public var host: String
    public var path: String
    public var mode: ManagementMode
    public var status: TargetStatus
    public var observedDigest: String?
    public var error: String?
    public var changes: [KeyChange]
    /// Non-key lines added or removed (never made by keyward's own plans).
    public var lineChanges: [LineChange]
    public var fileActions: [String]
    public var warnings: [String]
    /// The target is read and written with root's privileges (`act_as_root`).
    public var runsAsRoot: Bool
    /// The path may be outside the user's home (`outside_home`).
    public var outsideHome: Bool
    /// What the record in the file said (`FileHistory`), and the changes by origin.
    public var history: FileHistory?
    public var origins: OriginCounts?
  }

  public init(_ plan: Plan) {
    formatVersion = Self.currentVersion
    summary = plan.summary
    errors = plan.errors
    sshd = plan.sshd.isEmpty ? nil : plan.sshd.values.sorted { $0.host < $1.host }
    transports = plan.transports.isEmpty ? nil : plan.transports
    rollout = plan.rollout.map {
      RolloutView(sizes: $0.description, waves: RolloutApplier(rollout: $0).waves(plan))
    }
    targets = plan.targets.map { t in
      Target(
        target: t.id.user + "@" + t.id.host, user: t.id.user, host: t.id.host, path: t.id.path, mode: t.mode,
        status: t.status, observedDigest: t.observedDigest, error: t.error, changes: t.changes,
        lineChanges: t.lineChanges, fileActions: t.fileActions.map(\.summary), warnings: t.warnings,
        runsAsRoot: t.runsAsRoot, outsideHome: t.allowOutsideHome, history: t.history,
        origins: t.status == .changes ? OriginCounts(t) : nil)
    }
  }

  /// Deterministic pretty JSON (sorted keys, snake_case).
  public func encoded() -> [UInt8] {
    DeterministicJSON.encode(self) + [0x0A]
  }
}

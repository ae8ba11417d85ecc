import Foundation

/// What one `plan` or `apply` run did, for monitoring: written by `--report-file` as JSON
/// (`schemas/run-report.schema.json`, in the spirit of Puppet's `last_run_summary.yaml`) and
/// by `--metrics-file` as Prometheus text (`RunRecord+Prometheus.swift`).
public struct RunRecord: Codable, Hashable, Sendable {
  /// The version this build writes.
  public static let currentVersion = 1

  public var formatVersion: Int
  /// `plan` or `apply`.
  public var command: String
  /// RFC 3339 UTC times, and the seconds between them.
  public var startedAt: String
  public var finishedAt: String
  public var durationSeconds: Double
  /// The manifest revision (a git commit), when known.
  public var revision: String?
  /// No target failed, went stale, was rolled back or skipped, and the plan was not refused.
  public var success: Bool
  /// The exit code the run ended with.
  public var exitCode: Int32
  /// Why the whole plan was refused, if it was.
  public var refused: [String]
  public var targets: [Target]
  public var totals: Totals

  /// One target's outcome.
  public struct Target: Codable, Hashable, Sendable {
    public var target: String
    /// `apply`: applied, unchanged, stale, failed, rolled-back or skipped.
    /// `plan`: pending (changes to apply), unchanged or error.
    public var outcome: String
    public var message: String?
    public var history: FileHistory?
    public var add: Int
    public var update: Int
    public var remove: Int
    public var origins: OriginCounts
  }

  /// Counts over every target.
  public struct Totals: Codable, Hashable, Sendable {
    public var targets: Int
    /// Targets by outcome; every outcome of the command appears, zeros included.
    public var outcomes: [String: Int]
    /// Key changes made (apply: on applied targets) or pending (plan), by origin.
    public var changes: OriginCounts
    public var add: Int
    public var update: Int
    public var remove: Int
    /// Targets whose file changed on the host since keyward last wrote it.
    public var drifted: Int
  }

  /// The outcomes `apply` reports.
  public static let applyOutcomes = ["applied", "unchanged", "stale", "failed", "rolled-back", "skipped"]
  /// The outcomes `plan` reports.
  public static let planOutcomes = ["pending", "unchanged", "error"]

  /// The record of a run: `report` is `nil` for `plan` (nothing was written).
  public init(
    plan: Plan, report: ApplyReport?, started: Date, finished: Date, revision: String?, exitCode: Int32
  ) {
    formatVersion = Self.currentVersion
    command = report == nil ? "plan" : "apply"
    startedAt = UTCTime.timestamp(started, fractionalSeconds: true)
    finishedAt = UTCTime.timestamp(finished, fractionalSeconds: true)
    durationSeconds = (max(0, finished.timeIntervalSince(started)) * 1000).rounded() / 1000
    self.revision = revision
    refused = report?.refused ?? plan.errors
    let results = Dictionary(
      (report?.results ?? []).map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
    targets = plan.targets.map { t in
      let name = t.id.description
      let outcome: String
      var message = t.error
      if report != nil {
        let result = results[name]
        outcome = result?.status.rawValue ?? TargetApplyResult.Status.skipped.rawValue
        message = result?.message ?? message
      } else {
        switch t.status {
        case .changes: outcome = "pending"
        case .unchanged: outcome = "unchanged"
        case .error: outcome = "error"
        }
      }
      let counted = t.status == .changes
      return Target(
        target: name, outcome: outcome, message: message, history: t.history,
        add: counted ? t.count(.add) : 0, update: counted ? t.count(.update) : 0,
        remove: counted ? t.count(.remove) : 0, origins: counted ? OriginCounts(t) : OriginCounts())
    }
    let outcomes = report == nil ? Self.planOutcomes : Self.applyOutcomes
    var byOutcome = Dictionary(uniqueKeysWithValues: outcomes.map { ($0, 0) })
    for target in targets { byOutcome[target.outcome, default: 0] += 1 }
    let done = targets.filter { $0.outcome == (report == nil ? "pending" : "applied") }
    totals = Totals(
      targets: targets.count, outcomes: byOutcome,
      changes: OriginCounts(
        intent: done.reduce(0) { $0 + $1.origins.intent }, drift: done.reduce(0) { $0 + $1.origins.drift },
        unknown: done.reduce(0) { $0 + $1.origins.unknown }),
      add: done.reduce(0) { $0 + $1.add }, update: done.reduce(0) { $0 + $1.update },
      remove: done.reduce(0) { $0 + $1.remove }, drifted: plan.targets.count { $0.history == .changed })
    if let report {
      success = !report.hasFailures
    } else {
      success = !plan.hasErrors
    }
    self.exitCode = exitCode
  }

  /// Deterministic pretty JSON (sorted keys, snake_case), newline-terminated.
  public func json() -> [UInt8] {
    DeterministicJSON.encode(self) + [0x0A]
  }

  /// Seconds since 1970 of `finishedAt` (for metrics).
  var finishedSeconds: Double {
    UTCTime.date(timestamp: finishedAt, fractionalSeconds: true)?.timeIntervalSince1970 ?? 0
  }
}

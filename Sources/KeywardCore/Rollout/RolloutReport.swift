import Foundation

/// The outcome of a staged apply: every wave run, where it stopped, and the usual per-target
/// report (targets of waves never reached are `skipped`).
public struct RolloutReport: Hashable, Sendable {
  public var rollout: Rollout
  /// Every wave planned, in order (host names).
  public var plannedWaves: [[String]]
  /// The waves run, in order.
  public var waves: [WaveResult]
  /// The wave whose gate closed, if one did.
  public var stoppedAfter: Int?
  public var report: ApplyReport

  public init(
    rollout: Rollout, plannedWaves: [[String]], waves: [WaveResult], stoppedAfter: Int?, report: ApplyReport
  ) {
    self.rollout = rollout
    self.plannedWaves = plannedWaves
    self.waves = waves
    self.stoppedAfter = stoppedAfter
    self.report = report
  }

  /// For people: one line per wave, then the per-target report.
  public func renderText() -> String {
    var out = ""
    for wave in waves { out += Self.line(wave, of: plannedWaves.count) + "\n" }
    if let stoppedAfter {
      let left = plannedWaves.count - stoppedAfter
      out +=
        "Rollout stopped after wave \(stoppedAfter) of \(plannedWaves.count): \(left) wave\(left == 1 ? "" : "s") not started.\n"
    }
    return out + report.renderText()
  }

  /// `Wave 2 of 3 (lab2, lab3, lab4): 2 applied, 1 rolled back: gate closed: ...`.
  public static func line(_ wave: WaveResult, of total: Int) -> String {
    var counts: [String] = []
    for status in [TargetApplyResult.Status.applied, .unchanged, .failed, .rolledBack, .stale, .skipped] {
      let count = wave.results.count { $0.status == status }
      if count > 0 { counts.append("\(count) \(status == .rolledBack ? "rolled back" : status.rawValue)") }
    }
    let gate = wave.passed ? "gate passed" : "gate closed: \(wave.reason ?? "failures")"
    return
      "Wave \(wave.number) of \(total) (\(RolloutText.hostList(wave.hosts))): \(counts.joined(separator: ", ")); \(gate)"
  }

  /// For machines: the apply report's fields (`results`, `refused`, `transports`) plus `rollout`, `waves`
  /// (each with its hosts, results and gate) and `stopped_after`.
  public func renderJSON() -> String {
    struct Document: Encodable {
      var rollout: String
      var plannedWaves: [[String]]
      var waves: [WaveResult]
      var stoppedAfter: Int?
      var results: [TargetApplyResult]
      var refused: [String]
      var transports: [String: TransportChoice]?
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let document = Document(
      rollout: rollout.description, plannedWaves: plannedWaves, waves: waves, stoppedAfter: stoppedAfter,
      results: report.results, refused: report.refused, transports: report.transports)
    let data = (try? encoder.encode(document)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}

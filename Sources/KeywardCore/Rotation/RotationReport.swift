import Foundation

/// The outcome of a login-key rotation: every wave run, where it stopped, and each account.
public struct RotationReport: Hashable, Sendable {
  public var plannedWaves: [[String]]
  public var waves: [RotationWave]
  public var stoppedAfter: Int?
  public var results: [RotationTargetResult]
  /// Fingerprints of the old key(s) this run logged in with.
  public var oldKeys: [String]

  public init(
    plannedWaves: [[String]], waves: [RotationWave], stoppedAfter: Int?, results: [RotationTargetResult],
    oldKeys: [String]
  ) {
    self.plannedWaves = plannedWaves
    self.waves = waves
    self.stoppedAfter = stoppedAfter
    self.results = results
    self.oldKeys = oldKeys
  }

  /// Every account holds the new key only.
  public var isComplete: Bool { results.allSatisfy(\.isDone) }

  /// One line per account that was not rotated now, then a summary line.
  public func renderText() -> String {
    var out = ""
    for result in results where result.status != .rotated {
      let status = result.status.label
      out += "  \(result.target): \(status)\(result.message.map { ": " + $0 } ?? "")\n"
    }
    let rotated = results.count { $0.status == .rotated }
    let already = results.count { $0.status == .alreadyRotated }
    let failed = results.count { $0.status == .failed }
    let skipped = results.count { $0.status == .skipped }
    out +=
      "Rotation: \(rotated) rotated, \(already) already rotated, \(failed) failed, \(skipped) skipped of \(results.count) accounts.\n"
    return out
  }

  /// For machines (`schemas/rotation.schema.json`): waves, results and where the run stopped.
  public func renderJSON() -> String {
    struct Document: Encodable {
      var formatVersion = 1
      var plannedWaves: [[String]]
      var waves: [RotationWave]
      var stoppedAfter: Int?
      var results: [RotationTargetResult]
      var oldKeys: [String]
      var complete: Bool
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let document = Document(
      plannedWaves: plannedWaves, waves: waves, stoppedAfter: stoppedAfter, results: results,
      oldKeys: oldKeys,
      complete: isComplete)
    let data = (try? encoder.encode(document)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}

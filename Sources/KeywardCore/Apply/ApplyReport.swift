import Foundation

/// The outcome of an apply, per target, with text and JSON renderings.
public struct ApplyReport: Hashable, Sendable, Codable {
  public var results: [TargetApplyResult]
  /// Why the whole plan was refused, if it was.
  public var refused: [String]
  /// The transport that served each host and why (applies over SSH).
  public var transports: [String: TransportChoice]?

  public init(results: [TargetApplyResult], refused: [String] = []) {
    self.results = results
    self.refused = refused
  }

  /// True when anything failed, was stale, skipped for an error, or the plan was refused.
  public var hasFailures: Bool {
    !refused.isEmpty
      || results.contains { $0.status != .applied && $0.status != .unchanged }
  }

  public func count(_ status: TargetApplyResult.Status) -> Int { results.count { $0.status == status } }

  /// The closing line: `Apply: 3 applied, 1 unchanged, 0 stale, 0 failed, 0 rolled back, 0 skipped.`
  public var summaryLine: String {
    "Apply: \(count(.applied)) applied, \(count(.unchanged)) unchanged, \(count(.stale)) stale,"
      + " \(count(.failed)) failed, \(count(.rolledBack)) rolled back, \(count(.skipped)) skipped."
  }

  /// For people.
  public func renderText() -> String {
    var out = ""
    for reason in refused { out += "Error: plan refused: \(reason)\n" }
    for result in results where result.status != .unchanged {
      out += "\(result.target): \(result.status.rawValue)"
      if let message = result.message { out += ": \(message)" }
      out += "\n"
    }
    for result in results {
      for warning in result.warnings ?? [] { out += "\(result.target): warning: \(warning)\n" }
    }
    if let transports {
      var plan = Plan(targets: [])
      plan.transports = transports
      out += TextPlanRenderer.transportLines(plan)
    }
    return out + summaryLine + "\n"
  }

  /// For machines.
  public func renderJSON() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}

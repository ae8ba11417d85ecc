import Foundation

extension RunRecord {
  /// The record in Prometheus text exposition format, for node_exporter's textfile collector
  /// (`--collector.textfile.directory`). Every series is a gauge about the last run.
  public func prometheus() -> String {
    var out = ""
    func metric(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
      out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
      for sample in samples {
        var line = name
        if !sample.labels.isEmpty {
          line += "{" + sample.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        out += line + " " + Self.number(sample.value) + "\n"
      }
    }
    let labels = [("command", command)]
    metric(
      "keyward_last_run_timestamp_seconds", "Unix time the last keyward run finished.",
      [(labels, finishedSeconds)])
    metric(
      "keyward_last_run_success", "1 when the last run had no failed, stale, rolled back or skipped target.",
      [(labels, success ? 1 : 0)])
    metric("keyward_last_run_duration_seconds", "How long the last run took.", [(labels, durationSeconds)])
    metric("keyward_last_run_exit_code", "The exit code of the last run.", [(labels, Double(exitCode))])
    metric(
      "keyward_last_run_info", "The manifest revision of the last run (value always 1).",
      [(labels + [("revision", revision ?? "")], 1)])
    metric(
      "keyward_targets", "Targets of the last run by outcome.",
      totals.outcomes.keys.sorted().map { (labels + [("outcome", $0)], Double(totals.outcomes[$0] ?? 0)) })
    metric(
      "keyward_changes", "Key changes of the last run (applied, or pending for plan) by origin.",
      [
        (labels + [("origin", "intent")], Double(totals.changes.intent)),
        (labels + [("origin", "drift")], Double(totals.changes.drift)),
        (labels + [("origin", "unknown")], Double(totals.changes.unknown)),
      ])
    metric(
      "keyward_drifted_targets", "Targets whose file changed on the host since keyward last wrote it.",
      [(labels, Double(totals.drifted))])
    return out
  }

  /// Label values escape backslash, double quote and newline.
  static func escape(_ value: String) -> String {
    var out = ""
    for ch in value {
      switch ch {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.append(ch)
      }
    }
    return out
  }

  static func number(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(format: "%.3f", value)
  }
}

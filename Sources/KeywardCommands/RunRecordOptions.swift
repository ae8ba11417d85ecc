import ArgumentParser
import Foundation
import KeywardCore

/// `--report-file` and `--metrics-file`: what a run did, for monitoring.
struct RunRecordOptions: ParsableArguments {
  @Option(
    name: .customLong("report-file"),
    help: ArgumentHelp(
      "Write what this run did to FILE as JSON (schemas/run-report.schema.json), atomically.",
      valueName: "FILE"))
  var reportFile: String?

  @Option(
    name: .customLong("metrics-file"),
    help: ArgumentHelp(
      "Write Prometheus metrics about this run to FILE (for node_exporter's textfile collector), atomically.",
      valueName: "FILE"))
  var metricsFile: String?

  /// Writes the files asked for; a failure to write is reported and makes the run fail.
  func write(_ record: RunRecord) throws {
    do {
      if let reportFile { try FileIO.writeAtomically(record.json(), to: reportFile, mode: 0o644) }
      if let metricsFile {
        try FileIO.writeAtomically(Array(record.prometheus().utf8), to: metricsFile, mode: 0o644)
      }
    } catch {
      Terminal.report(.error, "\(error)")
      throw ExitCode(1)
    }
  }
}

import Foundation

/// Parses a Prometheus text file with the reference parser (python `prometheus_client`), so a
/// test proves the file is what node_exporter's textfile collector accepts.
public enum Prometheus {
  /// True when `python3` can import `prometheus_client`.
  public static var isAvailable: Bool {
    (try? Fleet.run("/usr/bin/env", ["python3", "-c", "import prometheus_client"]).status) == 0
  }

  /// Every sample as `name{label=value,...}` (labels sorted) -> value; throws when the parser
  /// rejects the file.
  public static func parse(_ path: String) throws -> [String: Double] {
    let script = """
      import sys
      from prometheus_client.parser import text_string_to_metric_families
      for family in text_string_to_metric_families(open(sys.argv[1]).read()):
          for s in family.samples:
              labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
              print(f"{s.name}{{{labels}}}\\t{s.value!r}" if labels else f"{s.name}\\t{s.value!r}")
      """
    let result = try Fleet.run("/usr/bin/env", ["python3", "-c", script, path])
    guard result.status == 0 else {
      throw FleetError(message: "prometheus_client rejected \(path): \(result.output)")
    }
    var samples: [String: Double] = [:]
    for line in result.output.split(separator: "\n") {
      let parts = line.split(separator: "\t")
      guard parts.count == 2, let value = Double(parts[1]) else {
        throw FleetError(message: "unexpected parser output: \(line)")
      }
      samples[String(parts[0])] = value
    }
    return samples
  }
}

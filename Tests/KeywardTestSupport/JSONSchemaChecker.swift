import Foundation

/// Checks JSON documents against a JSON Schema (2020-12) with Python's `jsonschema`.
public enum JSONSchemaChecker {
  /// True when `python3` can import `jsonschema`.
  public static var isAvailable: Bool {
    (try? run(["python3", "-c", "import jsonschema"]).status) == 0
  }

  /// True in CI, where a missing checker is a failure rather than a skip.
  public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

  /// One line per document: `ok NAME` or `invalid NAME: reason`.
  public static func check(schema: String, _ documents: [(name: String, json: String)]) throws -> [String] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-schema-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var paths: [String] = []
    for (index, document) in documents.enumerated() {
      let path = directory.appendingPathComponent("\(index).json").path
      try Data(document.json.utf8).write(to: URL(fileURLWithPath: path))
      paths.append(path)
    }
    let script = """
      import json, sys, jsonschema
      schema = json.load(open(sys.argv[1]))
      jsonschema.Draft202012Validator.check_schema(schema)
      validator = jsonschema.Draft202012Validator(schema)
      for path in sys.argv[2:]:
          errors = sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(e.path))
          print("ok" if not errors else "invalid: " + errors[0].message[:200])
      """
    let result = try run(["python3", "-c", script, schema] + paths)
    guard result.status == 0 else { return ["checker failed: \(result.output)"] }
    let lines = result.output.split(separator: "\n").map(String.init)
    return zip(documents, lines).map { document, line in
      line == "ok" ? "ok \(document.name)" : "invalid \(document.name): \(line)"
    }
  }

  static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}

import Foundation
import Testing

@testable import KeywardCore

/// The shipped examples are valid for `keyward validate` and for the JSON Schema, and carry
/// the schema modeline editors use.
@Suite("Examples")
struct ManifestExamplesTests {
  static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
    .path
  static let examples = repository + "/examples"
  static let schema = repository + "/schemas/manifest.schema.json"

  /// Each example manifest: a file or a directory.
  static let manifests = ["minimal.yaml", "fleet"]

  /// Every YAML file under `examples/`.
  static var yamlFiles: [String] {
    let enumerator = FileManager.default.enumerator(atPath: examples)
    var files: [String] = []
    while let path = enumerator?.nextObject() as? String {
      if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { files.append(path) }
    }
    return files.sorted()
  }

  @Test(arguments: manifests)
  func exampleIsValidWithoutWarnings(_ name: String) throws {
    let result = ManifestLoader().load(Self.examples + "/" + name)
    #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
    let state = try #require(result.state)
    #expect(!state.targets.isEmpty)
  }

  @Test func everyExampleIsPartOfAnExampleManifest() {
    let covered = Self.yamlFiles.filter { file in
      Self.manifests.contains { file == $0 || file.hasPrefix($0 + "/") }
    }
    #expect(covered == Self.yamlFiles)
  }

  @Test func fleetShowsWhatTheLanguageOffers() throws {
    let state = try #require(ManifestLoader().load(Self.examples + "/fleet").state)
    let entries = state.targets.flatMap(\.entries)
    #expect(state.targets.contains { $0.mode == .additive })
    #expect(state.targets.contains { $0.mode == .exclusive })
    #expect(entries.contains { $0.expires != nil && $0.options.contains { $0.name == "expiry-time" } })
    let names = entries.map { Set($0.options.map(\.name)) }
    #expect(names.contains { $0.isSuperset(of: ["restrict", "command"]) })
    #expect(entries.contains { $0.isProtected })
    #expect(!state.revoked.isEmpty)
  }

  @Test(arguments: yamlFiles)
  func exampleNamesTheSchema(_ file: String) throws {
    let text = try String(contentsOfFile: Self.examples + "/" + file, encoding: .utf8)
    let depth = file.split(separator: "/").count
    let relative = String(repeating: "../", count: depth) + "schemas/manifest.schema.json"
    #expect(text.hasPrefix("# yaml-language-server: $schema=\(relative)\n"))
  }

  static var pythonHasJSONSchema: Bool {
    (try? run(["python3", "-c", "import jsonschema"]).status) == 0
  }

  static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

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

  /// Checks JSON documents against the schema with Python's `jsonschema`; returns one line per
  /// document: `ok NAME` or `invalid NAME: reason`.
  static func checkWithSchema(_ documents: [(name: String, json: String)]) throws -> [String] {
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
    #expect(result.status == 0, "\(result.output)")
    let lines = result.output.split(separator: "\n").map(String.init)
    return zip(documents, lines).map { "\($1.hasPrefix("ok") ? "ok" : "invalid") \($0.name)" }
  }

  @Test(.enabled(if: pythonHasJSONSchema || isCI, "needs python3 with jsonschema (required when CI=true)"))
  func examplesAreValidAgainstTheSchema() throws {
    #expect(Self.pythonHasJSONSchema, "python3 with the jsonschema module is required in CI")
    var documents: [(name: String, json: String)] = []
    for file in Self.yamlFiles {
      let bytes = Array(FileManager.default.contents(atPath: Self.examples + "/" + file) ?? Data())
      let root = try #require(YAMLParser.parse(bytes, file: file).root)
      documents.append((file, root.jsonText))
    }
    let results = try Self.checkWithSchema(documents)
    #expect(results == Self.yamlFiles.map { "ok \($0)" })
  }

  /// The schema is not a rubber stamp: mistakes the validator reports are schema errors too.
  @Test(.enabled(if: pythonHasJSONSchema || isCI, "needs python3 with jsonschema (required when CI=true)"))
  func schemaRejectsWhatTheValidatorRejects() throws {
    #expect(Self.pythonHasJSONSchema, "python3 with the jsonschema module is required in CI")
    let broken: [(name: String, yaml: String)] = [
      ("no version", "keys: {}"),
      ("version 2", "version: 2"),
      ("unknown field", "version: 1\nhosts:\n  web1: { hostnme: x }"),
      ("yaml 1.1 boolean", "version: 1\ndefaults: { follow: yes }"),
      ("port out of range", "version: 1\nhosts:\n  web1: { port: 70000 }"),
      ("bad mode", "version: 1\ndefaults: { mode: exclusiv }"),
      ("rule without users", "version: 1\naccess:\n  - { hosts: [a], keys: [b] }"),
      ("key with key and file", "version: 1\nkeys:\n  a: { key: ssh-ed25519 AAAA, file: a.pub }"),
      ("unknown option", "version: 1\nkeys:\n  a: { key: ssh-ed25519 AAAA, options: { comand: x } }"),
      ("bad expires", "version: 1\nkeys:\n  a: { key: ssh-ed25519 AAAA, expires: 2027-3-1 }"),
      ("bad fingerprint", "version: 1\nrevoked:\n  - { fingerprint: MD5:aa, reason: x }"),
      ("revocation without reason", "version: 1\nrevoked:\n  - { key: alice }"),
      ("name with a space", "version: 1\ngroups:\n  'a b': [x]"),
    ]
    var documents: [(name: String, json: String)] = []
    for item in broken {
      let root = try #require(YAMLParser.parse(Array(item.yaml.utf8), file: item.name).root)
      documents.append((item.name, root.jsonText))
      let result = ManifestLoader().load(sources: [(item.name, Array(item.yaml.utf8))])
      #expect(!result.isValid, "the validator accepts '\(item.name)'")
    }
    let results = try Self.checkWithSchema(documents)
    #expect(results == broken.map { "invalid \($0.name)" })
  }
}

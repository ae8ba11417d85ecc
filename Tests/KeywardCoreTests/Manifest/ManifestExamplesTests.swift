import Foundation
import KeywardTestSupport
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

  static var pythonHasJSONSchema: Bool { JSONSchemaChecker.isAvailable }

  static var isCI: Bool { JSONSchemaChecker.isCI }

  /// One line per document: `ok NAME` or `invalid NAME` (reasons dropped).
  static func checkWithSchema(_ documents: [(name: String, json: String)]) throws -> [String] {
    try JSONSchemaChecker.check(schema: schema, documents).map { line in
      line.hasPrefix("invalid ") ? String(line.prefix { $0 != ":" }) : line
    }
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

  /// Every ```yaml block of README.md and docs/: its file, line and text; a block without
  /// `version:` is a fragment of a manifest and is checked with `version: 1` put before it.
  static var documentBlocks: [(name: String, yaml: String)] {
    var blocks: [(name: String, yaml: String)] = []
    let docs = (try? FileManager.default.contentsOfDirectory(atPath: repository + "/docs")) ?? []
    let files = ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    for file in files {
      guard let text = try? String(contentsOfFile: repository + "/" + file, encoding: .utf8) else { continue }
      var current: [String]?
      var start = 0
      for (index, line) in text.components(separatedBy: "\n").enumerated() {
        if current == nil, line == "```yaml" {
          current = []
          start = index + 2
        } else if let lines = current, line.hasPrefix("```") {
          let yaml = lines.joined(separator: "\n")
          let whole = lines.contains { $0.hasPrefix("version:") }
          blocks.append(("\(file):\(start)", whole ? yaml : "version: 1\n" + yaml))
          current = nil
        } else if current != nil {
          current?.append(line)
        }
      }
    }
    return blocks
  }

  /// The manifests and fragments the documents show use only fields, values and shapes the
  /// schema allows (which `schemaRejectsWhatTheValidatorRejects` ties to the validator).
  @Test(.enabled(if: pythonHasJSONSchema || isCI, "needs python3 with jsonschema (required when CI=true)"))
  func documentedManifestsAreValidAgainstTheSchema() throws {
    let blocks = Self.documentBlocks
    var documents: [(name: String, json: String)] = []
    for block in blocks {
      let parsed = YAMLParser.parse(Array(block.yaml.utf8), file: block.name)
      let root = try #require(
        parsed.root, "\(block.name): not YAML: \(parsed.diagnostics.map(\.description))")
      documents.append((block.name, root.jsonText))
    }
    let results = try JSONSchemaChecker.check(schema: Self.schema, documents)
    print("YAML blocks in README.md and docs/: \(blocks.count) checked against the manifest schema")
    #expect(blocks.count >= 10, "the scan found too few blocks: is it still reading the documents?")
    #expect(results == blocks.map { "ok \($0.name)" })
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

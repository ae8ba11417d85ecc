import Foundation
import Testing

@testable import KeywardCore

/// Broken manifests, one or more per diagnostic code: each reports exactly its marked
/// diagnostics (code, severity, file, line and column) and nothing else.
@Suite("Broken manifest fixtures")
struct ManifestFixtureTests {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/manifests").path
  static let brokenDirectory = root + "/broken"

  /// Every fixture: a `.yaml` file, or a directory of them that forms one manifest.
  static let fixtures: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: brokenDirectory)) ?? []
    return names.sorted()
  }()

  /// A clock fixed inside 2026, so that `expires` dates behave the same on every run.
  static let now = Date(timeIntervalSince1970: 1_780_000_000)

  static func load(_ fixture: String) -> (result: ManifestResult, expected: [MarkedText.Expectation]) {
    let path = brokenDirectory + "/" + fixture
    let files: [String]
    if ManifestFileReader.isDirectory(path) {
      files = (try? ManifestFileReader.manifestFiles(in: path)) ?? []
    } else {
      files = [path]
    }
    var sources: [(file: String, bytes: [UInt8])] = []
    var expected: [MarkedText.Expectation] = []
    for file in files {
      let marked = MarkedText(Array(FileManager.default.contents(atPath: file) ?? Data()), file: file)
      sources.append((file, marked.bytes))
      expected += marked.expectations
    }
    // Key files live in the shared `keys/` folder beside the fixtures (`file: ../keys/...`).
    return (ManifestLoader(now: now, keyFileRoots: [root]).load(sources: sources), expected)
  }

  @Test(arguments: fixtures)
  func fixtureReportsExactlyItsMarkedDiagnostics(_ fixture: String) {
    let (result, expected) = Self.load(fixture)
    #expect(!expected.isEmpty, "fixture \(fixture) marks no diagnostic")
    let actual = result.diagnostics.map { diagnostic in
      MarkedText.Expectation(
        file: diagnostic.location?.file ?? "", line: diagnostic.location?.line ?? 0,
        column: diagnostic.location?.column ?? 0, severity: diagnostic.severity,
        code: diagnostic.code.rawValue)
    }
    #expect(
      actual.sorted() == expected.sorted(),
      "\(fixture):\n\(result.diagnostics.map(\.description).joined(separator: "\n"))")
    #expect(result.diagnostics.allSatisfy { !$0.message.isEmpty && !$0.message.hasSuffix(".") })
    if expected.contains(where: { $0.severity == .error }) {
      #expect(result.state == nil)
    } else {
      #expect(result.state != nil)
    }
  }

  /// Codes that a fixture cannot show; each is covered by its own test.
  static let coveredElsewhere: Set<DiagnosticCode> = [.fileTooLarge, .emptyKeySource]

  @Test func everyCodeHasAFixture() {
    var covered: Set<String> = []
    for fixture in Self.fixtures {
      for expectation in Self.load(fixture).expected { covered.insert(expectation.code) }
    }
    let missing = DiagnosticCode.allCases.filter {
      !covered.contains($0.rawValue) && !Self.coveredElsewhere.contains($0)
    }
    #expect(missing.isEmpty, "codes without a fixture: \(missing.map(\.rawValue))")
  }
}

import Foundation
import FuzzChecks
import Testing

/// Replays every seed input (`Fuzz/Corpus/TARGET/`) and every input that once crashed a fuzz
/// target (`Fuzz/Regressions/TARGET/`) through the target's properties. A broken property
/// stops the test process, so a regression fails the suite loudly.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
  static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz").path

  /// (target, folder, file) for every input on disk.
  static let inputs: [String] = {
    var found: [String] = []
    for folder in ["Corpus", "Regressions"] {
      for target in FuzzChecks.targets.keys.sorted() {
        let directory = "\(fuzz)/\(folder)/\(target)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        found += names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\(target)/\($0)" }
      }
    }
    return found
  }()

  @Test func everyTargetHasSeeds() {
    for target in FuzzChecks.targets.keys.sorted() {
      #expect(Self.inputs.contains { $0.hasPrefix("Corpus/\(target)/") }, "no seed input for '\(target)'")
    }
    print("fuzz regressions: \(Self.inputs.count) inputs for \(FuzzChecks.targets.count) targets")
  }

  @Test(arguments: inputs)
  func inputKeepsEveryProperty(_ input: String) throws {
    let target = input.split(separator: "/")[1]
    let check = try #require(FuzzChecks.targets[String(target)])
    let bytes = try #require(FileManager.default.contents(atPath: "\(Self.fuzz)/\(input)"))
    check(Array(bytes))
  }
}

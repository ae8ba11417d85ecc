import Foundation
import KeywardTestSupport
import Testing

/// The review loop's command-line pieces, through the real binary: `--target` that matches
/// nothing, Markdown parts in `--out-dir` without stale leftovers, and `diff --base`.
@Suite("review loop commands", .tags(.processes))
struct ReviewLoopCommandTests {
  let root: TemporaryRoot
  let manifest: String

  init() throws {
    root = try TemporaryRoot()
    manifest = try LocalApplyTests.writeManifest(keys: ["alice"], in: root)
  }

  func keyward(_ args: [String], directory: String? = nil) throws -> KeywardProcess.Result {
    try KeywardProcess.run(args, directory: directory)
  }

  func local(_ args: [String]) throws -> KeywardProcess.Result {
    try keyward(args + ["--local", "--root", root.path, "--host", "img"])
  }

  @Test func aTargetPatternThatMatchesNothingIsAnError() throws {
    for command in ["plan", "apply"] {
      let result = try local(
        [command, manifest, "--target", "alice@img", "--target", "nobody@*", "--auto-approve"].filter {
          command == "apply" || $0 != "--auto-approve"
        })
      #expect(result.status == 1, "\(command): \(result.stdout)\(result.stderr)")
      #expect(
        result.stderr.contains("--target pattern 'nobody@*' matches no target in the manifests"),
        "\(result.stderr)")
      #expect(!result.stdout.contains("No changes"))
    }
    #expect(root.read("alice") == nil, "nothing was applied")
    let matching = try local(["plan", manifest, "--target", "alice@img"])
    #expect(matching.status == 0, "\(matching.stderr)")
  }

  @Test func outDirRemovesPartsOfAnEarlierLongerPlan() throws {
    let dir = root.path + "/comment"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for stale in ["plan-2.md", "plan-3.md", "plan-4.md"] {
      try "old part\n".write(toFile: dir + "/" + stale, atomically: true, encoding: .utf8)
    }
    try "keep me\n".write(toFile: dir + "/plan-notes.md", atomically: true, encoding: .utf8)
    let result = try local(["plan", manifest, "--format", "markdown", "--out-dir", dir])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("removed 3 stale part(s)"))
    let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    #expect(names == ["plan-1.md", "plan-notes.md"])
    let part = try String(contentsOfFile: dir + "/plan-1.md", encoding: .utf8)
    #expect(part.hasPrefix("<!-- keyward plan part=1 of=1 digest=sha256:"))
    #expect(part.contains("**+2 ~0 \u{2212}0 on 2 targets; 0 drift; 0 errors**"))
  }

  @Test func theMarkerCarriesTheDigestOfTheSavedPlan() throws {
    let planFile = root.path + "/plan.json"
    let result = try local(["plan", manifest, "--format", "markdown", "--out", planFile])
    #expect(result.status == 0, "\(result.stderr)")
    let bytes = try Data(contentsOf: URL(fileURLWithPath: planFile))
    let digest = try #require(
      String(decoding: try Fleet.run("/usr/bin/sha256sum", [planFile]).output.utf8, as: UTF8.self)
        .split(separator: " ").first)
    #expect(!bytes.isEmpty)
    #expect(result.stdout.hasPrefix("<!-- keyward plan part=1 of=1 digest=sha256:\(digest) -->"))
  }

  @Test func diffAgainstAGitBaseNeedsNoHost() throws {
    let repo = root.path + "/repo"
    try FileManager.default.createDirectory(atPath: repo + "/manifests", withIntermediateDirectories: true)
    let file = repo + "/manifests/keys.yaml"
    try LocalApplyTests.manifestText(keys: ["alice"]).write(toFile: file, atomically: true, encoding: .utf8)
    func git(_ args: String...) throws {
      let result = try Fleet.run(
        "/usr/bin/env",
        ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"] + args)
      #expect(result.status == 0, "git \(args): \(result.output)")
    }
    try git("init", "-q", "-b", "main")
    try git("add", ".")
    try git("commit", "-q", "-m", "base")
    try LocalApplyTests.manifestText(keys: ["alice", "bob"]).write(
      toFile: file, atomically: true, encoding: .utf8)

    let text = try keyward(["diff", "--base", "HEAD", file, "--detailed-exitcode"])
    #expect(text.status == 2, "\(text.stdout)\(text.stderr)")
    #expect(text.stdout.contains("'bob' ("), "\(text.stdout)")
    #expect(text.stdout.contains("+ gains: alice@img, bob@img"), "\(text.stdout)")
    #expect(text.stdout.contains("Access: 2 grants, 0 revokes, 0 option changes for 1 key."))

    let json = try keyward(["diff", "--base", "HEAD", repo + "/manifests", "--format", "json"])
    #expect(json.status == 0, "\(json.stderr)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect((object["changes"] as? [[String: Any]])?.count == 2)

    let markdown = try keyward(["diff", "--base", "HEAD", file, "--format", "markdown"])
    #expect(markdown.stdout.hasPrefix("<!-- keyward diff part=1 of=1 digest=sha256:"))

    // Two paths, no git: the same answer the other way round.
    let old = root.path + "/old.yaml"
    try LocalApplyTests.manifestText(keys: ["alice"]).write(toFile: old, atomically: true, encoding: .utf8)
    let reverse = try keyward(["diff", file, old])
    #expect(reverse.stdout.contains("- loses: alice@img, bob@img"), "\(reverse.stdout)")

    let unknown = try keyward(["diff", "--base", "no-such-rev", file])
    #expect(unknown.status == 1)
    #expect(unknown.stderr.contains("'no-such-rev' is not a commit"))
  }
}

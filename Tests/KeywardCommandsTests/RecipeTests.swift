import Foundation
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The recipes under `contrib/` as written: the comment script against a loopback stand-in
/// for the GitHub and GitLab comment APIs, the workflows through actionlint, the systemd
/// units through `systemd-analyze verify`.
@Suite("recipes", .tags(.processes))
struct RecipeTests {
  static let contrib = Fleet.packageRoot + "/contrib"
  static let standIn = Fleet.packageRoot + "/Tests/Fixtures/recipes/comments_api_standin.py"
  static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

  /// The stand-in server, stopped by its PID when the test is done.
  final class StandIn: @unchecked Sendable {
    let process = Process()
    var port = 0

    init() throws {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["python3", RecipeTests.standIn, "test-token"]
      let out = Pipe()
      process.standardOutput = out
      process.standardError = FileHandle.nullDevice
      try process.run()
      var line = Data()
      while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8)
      {
        line += byte
      }
      port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    deinit {
      // SIGKILL: a child of the test runner may inherit a mask that blocks SIGTERM.
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// An HTTP call to the stand-in (python's urllib: no FoundationNetworking needed).
    func call(_ method: String, _ path: String, _ body: String? = nil) throws -> Any {
      let script = """
        import json, sys, urllib.request
        data = sys.argv[3].encode() if len(sys.argv) > 3 else None
        req = urllib.request.Request(sys.argv[2], data=data, method=sys.argv[1],
            headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"})
        print(urllib.request.urlopen(req).read().decode())
        """
      let result = try Fleet.run(
        "/usr/bin/env", ["python3", "-c", script, method, base + path] + (body.map { [$0] } ?? []))
      return try JSONSerialization.jsonObject(with: Data(result.output.utf8))
    }

    /// (id, body) of every comment, in order.
    func comments() throws -> [(id: Int, body: String)] {
      ((try call("GET", "/_state")) as? [[String: Any]] ?? []).map {
        ($0["id"] as? Int ?? 0, $0["body"] as? String ?? "")
      }
    }

    func seed(_ body: String) throws {
      let json = String(decoding: try JSONSerialization.data(withJSONObject: ["body": body]), as: UTF8.self)
      _ = try call("POST", "/_seed", json)
    }
  }

  static func comment(_ api: String, _ server: StandIn, _ arguments: [String], token: String = "test-token")
    throws -> (status: Int32, output: String)
  {
    var environment = ProcessInfo.processInfo.environment
    if api == "github" {
      environment["GITHUB_API_URL"] = server.base
      environment["GITHUB_REPOSITORY"] = "acme/keys"
      environment["KEYWARD_PR"] = "7"
      environment["GITHUB_TOKEN"] = token
    } else {
      environment["CI_API_V4_URL"] = server.base + "/api/v4"
      environment["CI_PROJECT_ID"] = "acme/keys"
      environment["CI_MERGE_REQUEST_IID"] = "7"
      environment["KEYWARD_GITLAB_TOKEN"] = token
    }
    return try Fleet.run(
      "/usr/bin/env", ["python3", contrib + "/keyward-comment.py", "--api", api] + arguments,
      environment: environment)
  }

  @Test(arguments: ["github", "gitlab"])
  func oneCommentIsCreatedThenUpdatedNeverDuplicated(api: String) throws {
    let server = try StandIn()
    #expect(server.port > 0)
    // Other people's comments, enough to need paging (the stand-in pages by 2).
    for text in ["LGTM", "please add bob", "<!-- not keyward --> a bot"] { try server.seed(text) }

    let root = try TemporaryRoot()
    let manifest = root.path + "/keys.yaml"
    try LocalApplyTests.manifestText(keys: ["alice"]).write(
      toFile: manifest, atomically: true, encoding: .utf8)
    let dir = root.path + "/comment"
    func plan() throws {
      let result = try KeywardProcess.run(
        [
          "plan", manifest, "--local", "--root", root.path, "--host", "img", "--format", "markdown",
          "--out-dir", dir,
        ])
      #expect(result.status == 0, "\(result.stderr)")
    }
    try plan()
    let first = try Self.comment(api, server, ["post", dir + "/plan-1.md"])
    #expect(first.status == 0, "\(first.output)")
    #expect(first.output.contains("created plan part 1"))
    var comments = try server.comments()
    #expect(comments.count == 4)
    let ours = try #require(comments.last)
    #expect(ours.body.hasPrefix("<!-- keyward plan part=1 of=1 digest=sha256:"))
    #expect(ours.body.contains("+2 ~0 \u{2212}0 on 2 targets"))

    // The manifests change; the same comment is updated in place.
    try LocalApplyTests.manifestText(keys: ["alice", "bob"]).write(
      toFile: manifest, atomically: true, encoding: .utf8)
    try plan()
    let second = try Self.comment(api, server, ["post", dir + "/plan-1.md"])
    #expect(second.status == 0, "\(second.output)")
    #expect(second.output.contains("updated plan part 1 (comment \(ours.id))"), "\(second.output)")
    comments = try server.comments()
    #expect(comments.count == 4)
    #expect(comments.last?.id == ours.id)
    #expect(comments.last?.body.contains("+4 ~0 \u{2212}0 on 2 targets") == true)
    #expect(comments.prefix(3).map(\.body) == ["LGTM", "please add bob", "<!-- not keyward --> a bot"])

    // A diff comment lives beside the plan comment, found by its own marker.
    let diff = try KeywardProcess.run([
      "diff", root.path + "/keys.yaml", manifest, "--format", "markdown", "--out-dir", dir,
    ])
    #expect(diff.status == 0)
    #expect(try Self.comment(api, server, ["post", dir + "/diff-1.md"]).status == 0)
    #expect(try server.comments().count == 5)

    // A longer plan in two parts, then a one-part plan: part 2 is deleted, part 1 kept.
    let digest = "sha256:" + String(repeating: "a", count: 64)
    for index in 1...2 {
      try "<!-- keyward plan part=\(index) of=2 digest=\(digest) -->\npart \(index)\n".write(
        toFile: dir + "/long-\(index).md", atomically: true, encoding: .utf8)
    }
    #expect(try Self.comment(api, server, ["post", dir + "/long-1.md", dir + "/long-2.md"]).status == 0)
    #expect(try server.comments().count == 6)
    let shrink = try Self.comment(api, server, ["post", dir + "/plan-1.md"])
    #expect(shrink.output.contains("deleted stale plan comment"), "\(shrink.output)")
    comments = try server.comments()
    #expect(comments.count == 5)
    #expect(comments.filter { $0.body.hasPrefix("<!-- keyward plan ") }.map(\.id) == [ours.id])

    // The apply job reads the digest the reviewers saw.
    let shown = try Self.comment(api, server, ["digest", "plan"])
    #expect(shown.status == 0)
    let part = try String(contentsOfFile: dir + "/plan-1.md", encoding: .utf8)
    #expect(
      part.hasPrefix(
        "<!-- keyward plan part=1 of=1 digest=\(shown.output.trimmingCharacters(in: .whitespacesAndNewlines)) -->"
      ))

    // A wrong token changes nothing and says why.
    let denied = try Self.comment(api, server, ["post", dir + "/plan-1.md"], token: "wrong")
    #expect(denied.status == 1)
    #expect(denied.output.contains("HTTP 401"), "\(denied.output)")
    #expect(try server.comments().count == 5)
  }

  @Test func gitlabCountsComeFromThePlanFile() throws {
    let root = try TemporaryRoot()
    let manifest = root.path + "/keys.yaml"
    try LocalApplyTests.manifestText(keys: ["alice"]).write(
      toFile: manifest, atomically: true, encoding: .utf8)
    try root.put("bob", TestKeys.carol + "\n")
    let planFile = root.path + "/plan.json"
    let plan = try KeywardProcess.run([
      "plan", manifest, "--local", "--root", root.path, "--host", "img", "--out", planFile,
    ])
    #expect(plan.status == 0, "\(plan.stderr)")
    // The plan file holds bytes, not counts: the counts come from its view, derived by `show`.
    let raw = try Fleet.run(
      "/usr/bin/env", ["python3", Self.contrib + "/keyward-comment.py", "gitlab-counts", planFile])
    #expect(raw.status != 0 && raw.output.contains("keyward show PLANFILE --format json"), "\(raw.output)")
    let view = try KeywardProcess.run(["show", planFile, "--format", "json"])
    #expect(view.status == 0, "\(view.stderr)")
    let viewFile = root.path + "/plan-view.json"
    try view.stdout.write(toFile: viewFile, atomically: true, encoding: .utf8)
    let counts = try Fleet.run(
      "/usr/bin/env", ["python3", Self.contrib + "/keyward-comment.py", "gitlab-counts", viewFile])
    #expect(
      counts.output.trimmingCharacters(in: .whitespacesAndNewlines)
        == "{\"create\": 2, \"update\": 0, \"delete\": 1}")
  }

  @Test(
    .enabled(
      if: isCI || (try? Fleet.run("/usr/bin/env", ["actionlint", "-version"]).status) == 0,
      "needs actionlint (scripts/test installs it; required when CI=true)"))
  func workflowsPassActionlint() throws {
    let workflows = [Self.contrib + "/github/keyward-review.yml", Self.contrib + "/github/keyward-apply.yml"]
    let result = try Fleet.run("/usr/bin/env", ["actionlint", "-shellcheck=", "-pyflakes="] + workflows)
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.isEmpty, "\(result.output)")
    // actionlint does find mistakes: the same check fails on a broken copy.
    let broken = NSTemporaryDirectory() + "keyward-broken-\(UUID().uuidString).yml"
    defer { try? FileManager.default.removeItem(atPath: broken) }
    let text = try String(contentsOfFile: workflows[0], encoding: .utf8)
      .replacingOccurrences(of: "github.token", with: "github.tokn")
    try text.write(toFile: broken, atomically: true, encoding: .utf8)
    #expect(try Fleet.run("/usr/bin/env", ["actionlint", "-shellcheck=", "-pyflakes=", broken]).status != 0)
  }

  @Test func gitlabPipelineIsValidYAMLWithTheCountsReport() throws {
    let script = """
      import sys, yaml
      d = yaml.safe_load(open(sys.argv[1]))
      assert d["keyward-review"]["artifacts"]["reports"]["terraform"] == "keyward-counts.json", d
      assert d["keyward-apply"]["resource_group"] == "keyward-apply"
      print("ok")
      """
    let result = try Fleet.run(
      "/usr/bin/env", ["python3", "-c", script, Self.contrib + "/gitlab/keyward.gitlab-ci.yml"])
    #expect(result.output == "ok\n", "\(result.output)")
  }

  @Test(
    .enabled(
      if: isCI || Fleet.missingPrerequisite == nil,
      "needs root and unshare to show systemd-analyze the installed binaries"))
  func systemdUnitsVerify() throws {
    // systemd-analyze checks that each ExecStart exists: in a private mount namespace, the
    // built keyward and the pull script appear where the package installs them.
    let stage = NSTemporaryDirectory() + "keyward-units-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: stage) }
    try FileManager.default.createDirectory(atPath: stage + "/bin", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: stage + "/libexec/keyward", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: KeywardProcess.executable.path, toPath: stage + "/bin/keyward")
    try FileManager.default.copyItem(
      atPath: Self.contrib + "/pull/keyward-pull", toPath: stage + "/libexec/keyward/keyward-pull")
    let units = [
      "systemd/keyward-converge.service", "systemd/keyward-converge.timer", "pull/keyward-pull.service",
      "pull/keyward-pull.timer",
    ].map { Self.contrib + "/" + $0 }
    let script = """
      mount -t overlay overlay -o lowerdir=\(stage)/bin:/usr/bin /usr/bin &&
      mount -t overlay overlay -o lowerdir=\(stage)/libexec:/usr/libexec /usr/libexec &&
      exec systemd-analyze verify "$@"
      """
    let result = try Fleet.run(
      "/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh"] + units)
    #expect(result.status == 0, "\(result.output)")
    // Warnings (an unknown key, a bad value) do not change the exit code: none may be printed.
    #expect(result.output.isEmpty, "\(result.output)")
    for unit in units where unit.hasSuffix(".timer") {
      let text = try String(contentsOfFile: unit, encoding: .utf8)
      for key in ["RandomizedDelaySec=", "AccuracySec=", "Persistent=true"] {
        #expect(text.contains(key), "\(unit) lacks \(key)")
      }
    }
  }
}

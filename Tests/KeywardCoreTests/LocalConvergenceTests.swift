import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// The starting states of issue 9's table, on a real file system under `--root`: every planned
/// action is executed and re-observed, so the next plan is empty and the next apply writes
/// nothing (same inode and mtime); states keyward must not touch are refused with the reason.
@Suite("local convergence from hostile starting states")
struct LocalConvergenceTests {
  static let alice = TargetID(user: "alice", host: "img")
  static let desired = DesiredState(targets: [
    DesiredTarget(
      id: alice, mode: .exclusive,
      entries: [DesiredEntry(keyName: "alice", key: TestKeys.key(TestKeys.alice), rule: "test")])
  ])

  struct Start: Sendable, CustomStringConvertible {
    var description: String
    /// The refusal's code, when keyward must refuse this state.
    var refusal: String?
    var prepare: @Sendable (TemporaryRoot) throws -> Void
  }

  static let starts: [Start] = [
    Start(description: "missing ~/.ssh") { _ in },
    Start(description: "missing file") { root in
      try root.put("alice", "")
      try FileManager.default.removeItem(atPath: root.file("alice"))
    },
    Start(description: "dir 0777") { root in
      try root.put("alice", TestKeys.bob + "\n")
      chmod(root.path + "/home/alice/.ssh", 0o777)
    },
    Start(description: "dir 0775 shared group") { root in
      try root.put("alice", TestKeys.bob + "\n")
      chmod(root.path + "/home/alice/.ssh", 0o775)
      chown(root.path + "/home/alice/.ssh", 2001, 100)
    },
    Start(description: "file 0666") { root in try root.put("alice", TestKeys.bob + "\n", mode: 0o666) },
    Start(description: "same keys, modes wrong") { root in
      try root.put("alice", TestKeys.alice + "\n", mode: 0o644)
      chmod(root.path + "/home/alice/.ssh", 0o770)
    },
    Start(description: "file owned by root", refusal: "ownership-refused") { root in
      try root.put("alice", TestKeys.bob + "\n")
      chown(root.file("alice"), 0, 0)
    },
    Start(description: "dir owned by root", refusal: "ownership-refused") { root in
      try root.put("alice", TestKeys.bob + "\n")
      chown(root.path + "/home/alice/.ssh", 0, 0)
    },
    Start(description: "missing home", refusal: "no-home") { root in
      try FileManager.default.removeItem(atPath: root.path + "/home/alice")
    },
  ]

  static func facts(_ path: String) -> String? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return "\(st.st_ino) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_uid):\(st.st_gid) \(st.st_mode)"
  }

  @Test(arguments: starts)
  func convergesOrRefuses(_ start: Start) async throws {
    let root = try TemporaryRoot()
    try start.prepare(root)
    let transport = LocalTransport(root: root.path, host: "img")
    let plan = await Planner().plan(Self.desired, transport: transport)
    let target = try #require(plan.targets.first)
    if let refusal = start.refusal {
      #expect(target.status == .error)
      #expect(target.error?.contains("[\(refusal)]") == true, "\(target.error ?? "")")
      let before = (Self.facts(root.file("alice")), root.read("alice"))
      let report = await Applier().apply(plan, transport: transport)
      #expect(report.results.first?.status == .skipped)
      #expect(Self.facts(root.file("alice")) == before.0 && root.read("alice") == before.1)
      return
    }
    #expect(target.status == .changes, "\(target)")
    let report = await Applier(verifyLogin: false).apply(plan, transport: transport)
    #expect(report.results.first?.status == .applied, "\(report)")
    let keyPart = TestKeys.alice.split(separator: " ").prefix(2).joined(separator: " ")
    #expect(
      root.readKeys("alice")?.hasPrefix(keyPart) == true
        && root.readKeys("alice")?.filter { $0 == "\n" }.count == 1)
    #expect(root.mode(root.path + "/home/alice/.ssh") == 0o700)
    #expect(root.mode(root.file("alice")) == 0o600)
    var st = stat()
    lstat(root.file("alice"), &st)
    #expect(st.st_uid == 2001 && st.st_gid == 2001)
    lstat(root.path + "/home/alice/.ssh", &st)
    #expect(st.st_uid == 2001)

    let again = await Planner().plan(Self.desired, transport: transport)
    #expect(again.targets.first?.status == .unchanged, "\(again.targets)")
    let before = Self.facts(root.file("alice"))
    let second = await Applier(verifyLogin: false).apply(again, transport: transport)
    #expect(second.results.first?.status == .unchanged)
    #expect(Self.facts(root.file("alice")) == before, "the second apply rewrote the file")
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/alice/.ssh")
    #expect(!names.contains { $0.contains(".keyward-tmp") || $0.hasSuffix(".keyward-lock") }, "\(names)")
  }
}

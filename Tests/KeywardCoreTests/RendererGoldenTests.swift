import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// Golden tests of the three plan renderers, colour off.
@Suite("Plan renderers")
struct RendererGoldenTests {
  static let plan: Plan = {
    let web = TargetPlan(
      id: TargetID(user: "deploy", host: "web1"), mode: .exclusive, status: .changes, observedDigest: "abc",
      changes: [
        KeyChange(
          action: .remove, fingerprint: "SHA256:carol", type: "ssh-ed25519", keyName: nil,
          reason: "not declared (exclusive mode)", line: 2, origin: .drift),
        KeyChange(
          action: .update, fingerprint: "SHA256:ci", type: "ecdsa-sha2-nistp256", keyName: "ci-deploy",
          reason: "access[1]", line: 3, oldOptions: nil, newOptions: "restrict,command=\"/bin/deploy\"",
          oldComment: "ci@runner", newComment: "ci@runner", origin: .intent),
        KeyChange(
          action: .add, fingerprint: "SHA256:alice", type: "ssh-ed25519", keyName: "alice",
          reason: "access[0]",
          newComment: "alice@laptop", origin: .intent),
      ],
      warnings: ["key 'contractor' expires on 2026-10-01"], newContent: Array("x\n".utf8), history: .changed)
    let db = TargetPlan(
      id: TargetID(user: "postgres", host: "db1"), mode: .additive, status: .changes,
      observedDigest: "absent",
      changes: [
        KeyChange(
          action: .add, fingerprint: "SHA256:bob", type: "ssh-ed25519", keyName: "bob", reason: "access[2]",
          newComment: "bob", origin: .unknown)
      ], fileActions: [.createDirectory(mode: 0o700), .createFile(mode: 0o600)],
      newContent: Array("y\n".utf8),
      directoryMode: 0o700)
    let same = TargetPlan(
      id: TargetID(user: "alice", host: "web1"), mode: .exclusive, status: .unchanged, observedDigest: "def")
    let down = TargetPlan(
      id: TargetID(user: "deploy", host: "web2"), mode: .exclusive, status: .error, observedDigest: nil,
      error: "web2: connect: connection refused [unreachable]")
    return Plan(targets: [web, db, same, down])
  }()

  @Test func text() {
    let expected = """
      Symbols: + add, - remove, ~ update, * file or directory

      postgres@db1 (.ssh/authorized_keys, additive) [1 unknown]
        * create directory (0700)
        * create file (0600)
        + ssh-ed25519 SHA256:bob 'bob'  # unknown: access[2]

      deploy@web1 (.ssh/authorized_keys, exclusive) [2 intent, 1 drift]
        - ssh-ed25519 SHA256:carol (unmanaged) line 2  # drift: not declared (exclusive mode)
        ~ ecdsa-sha2-nistp256 SHA256:ci 'ci-deploy' line 3  # intent: access[1]
            options: (none) -> restrict,command="/bin/deploy"
        + ssh-ed25519 SHA256:alice 'alice'  # intent: access[0]
        ! key 'contractor' expires on 2026-10-01

      Failed targets (nothing will be written to them):
        deploy@web2: web2: connect: connection refused [unreachable]

      Origin: 2 intent (manifest changes), 1 drift (undo edits made on hosts), 1 unknown (no record of keyward's last write); 1 file changed on the host since keyward wrote it.
      Plan: 2 to add, 1 to update, 1 to remove on 2 targets (1 unchanged), 1 failed.

      """
    #expect(TextPlanRenderer(color: false).render(Self.plan) == expected)
  }

  @Test func textWithoutChanges() {
    let plan = Plan(targets: [
      TargetPlan(
        id: TargetID(user: "a", host: "h"), mode: .exclusive, status: .unchanged, observedDigest: "x")
    ])
    #expect(
      TextPlanRenderer().render(plan)
        == "No changes. Every target matches the manifests.\nPlan: 0 to add, 0 to update, 0 to remove on 0 targets (1 unchanged).\n"
    )
  }

  @Test func colourOnlyWhenAsked() {
    #expect(!TextPlanRenderer(color: false).render(Self.plan).contains("\u{1B}["))
    #expect(TextPlanRenderer(color: true).render(Self.plan).contains("\u{1B}[32m+\u{1B}[0m"))
  }

  @Test func json() throws {
    let text = JSONPlanRenderer().render(Self.plan)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["format_version"] as? Int == 1)
    let targets = try #require(object["targets"] as? [[String: Any]])
    #expect(
      targets.map { $0["target"] as? String } == ["postgres@db1", "alice@web1", "deploy@web1", "deploy@web2"])
    #expect(targets.map { $0["status"] as? String } == ["changes", "unchanged", "changes", "error"])
    #expect(targets[0]["observed_digest"] as? String == "absent")
    #expect(targets[0]["new_content"] == nil)
    let change = try #require((targets[2]["changes"] as? [[String: Any]])?.first)
    #expect(change["action"] as? String == "remove")
    #expect(change["fingerprint"] as? String == "SHA256:carol")
    #expect(change["reason"] as? String == "not declared (exclusive mode)")
    let summary = try #require(object["summary"] as? [String: Int])
    #expect(
      summary == [
        "add": 2, "update": 1, "remove": 1, "changed": 2, "unchanged": 1, "errors": 1, "intent": 2,
        "drift": 1,
        "unknown": 1, "drifted": 1,
      ])
    #expect(change["origin"] as? String == "drift")
    #expect(targets[2]["history"] as? String == "changed")
    #expect(targets[2]["origins"] as? [String: Int] == ["intent": 2, "drift": 1, "unknown": 0])
    #expect(text == JSONPlanRenderer().render(Self.plan))
  }

  @Test func markdown() {
    let expected = """
      <!-- keyward plan part=1 of=1 digest=none -->
      ### keyward plan

      **+2 ~1 −1 on 2 targets; 1 drift; 1 error**

      Origin: 2 intent (manifest changes), 1 drift (undo edits made on hosts), 1 unknown (no record of keyward's last write); 1 changed on the host since keyward wrote them.

      **Failed targets** (nothing will be written to them):

      - `deploy@web2`: web2: connect: connection refused [unreachable]

      <details><summary><code>db1</code>: 1 target, +1 ~0 −0</summary>

      **`postgres`** `.ssh/authorized_keys`, additive [1 unknown]

      | | key | type | fingerprint | origin | why |
      |---|---|---|---|---|---|
      | `+` | `bob` | `ssh-ed25519` | `SHA256:bob` | unknown | access[2] |

      - create directory (0700)
      - create file (0600)

      </details>

      <details><summary><code>web1</code>: 1 target, +1 ~1 −1, 1 drift</summary>

      **`deploy`** `.ssh/authorized_keys`, exclusive [2 intent, 1 drift]

      | | key | type | fingerprint | origin | why |
      |---|---|---|---|---|---|
      | `-` | _unmanaged_ | `ssh-ed25519` | `SHA256:carol` | **drift** | not declared (exclusive mode) |
      | `~` | `ci-deploy` | `ecdsa-sha2-nistp256` | `SHA256:ci` | intent | access[1] |
      | `+` | `alice` | `ssh-ed25519` | `SHA256:alice` | intent | access[0] |

      - :warning: key 'contractor' expires on 2026-10-01

      </details>

      `Plan: 2 to add, 1 to update, 1 to remove on 2 targets (1 unchanged), 1 failed.`

      """
    #expect(MarkdownPlanRenderer().render(Self.plan) == expected)
  }

  @Test func markdownSplitsLongPlansIntoPartsThatFit() {
    let targets = (0..<400).map { i in
      TargetPlan(
        id: TargetID(user: "u\(i)", host: "host\(i)"), mode: .exclusive, status: .changes,
        observedDigest: "x",
        changes: (0..<3).map { k in
          KeyChange(
            action: .add, fingerprint: "SHA256:" + String(repeating: "A", count: 43), type: "ssh-ed25519",
            keyName: "key\(k)", reason: "access[\(k)]")
        }, newContent: [])
    }
    let plan = Plan(targets: targets)
    let whole = MarkdownPlanRenderer().render(plan)
    #expect(whole.count > 60_000)
    let parts = MarkdownPlanRenderer().renderParts(plan)
    #expect(parts.count >= 2)
    for (index, part) in parts.enumerated() {
      #expect(part.utf8.count <= 60_000)
      #expect(
        part.hasPrefix(
          "<!-- keyward plan part=\(index + 1) of=\(parts.count) digest=none -->\n**keyward plan, part \(index + 1) of \(parts.count)**"
        ))
    }
    // Every target section appears exactly once across the parts.
    let joined = parts.joined()
    for i in [0, 199, 399] {
      #expect(joined.components(separatedBy: "<code>host\(i)</code>").count == 2)
    }
    #expect(parts.last?.contains("Plan: 1200 to add") == true)
  }
}

import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// `keyward diff`: access before and after, from two manifests alone.
@Suite("Access diff")
struct AccessDiffTests {
  static func state(_ yaml: String) throws -> DesiredState {
    let result = ManifestLoader().load(sources: [(file: "keys.yaml", bytes: Array(yaml.utf8))])
    guard let state = result.state else {
      throw FleetError(message: DiagnosticRenderer.text(result.diagnostics))
    }
    return state
  }

  static let base = """
    version: 1
    keys:
      alice: \(TestKeys.alice)
      bob: \(TestKeys.bob)
    groups:
      ops: [alice]
    hosts: { web1: {}, web2: {}, web3: {}, db1: {} }
    host_groups:
      web: [web1, web2, web3]
    access:
      - { hosts: [web], users: [deploy], keys: [ops] }
      - { hosts: [db1], users: [postgres], keys: [bob] }

    """

  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    var edit: @Sendable (String) -> String
    var expected: [String]  // "kind key target"
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "no change", edit: { $0 }, expected: []),
    Case(
      name: "grant", edit: { $0.replacingOccurrences(of: "keys: [bob]", with: "keys: [bob, alice]") },
      expected: ["grant alice postgres@db1"]),
    Case(
      name: "revoke", edit: { $0.replacingOccurrences(of: "keys: [bob]", with: "keys: []") },
      expected: ["revoke bob postgres@db1"]),
    Case(
      name: "option change",
      edit: {
        $0.replacingOccurrences(
          of: "keys: [bob] }", with: "keys: [bob], options: { command: /usr/bin/backup } }")
      },
      expected: ["options bob postgres@db1"]),
    Case(
      name: "renaming a key with the same material changes no access",
      edit: {
        $0.replacingOccurrences(of: "bob:", with: "robert:").replacingOccurrences(
          of: "[bob]", with: "[robert]")
      },
      expected: []),
    Case(
      name: "a group change fans out to every target the group reaches",
      edit: { $0.replacingOccurrences(of: "ops: [alice]", with: "ops: [alice, bob]") },
      expected: ["grant bob deploy@web1", "grant bob deploy@web2", "grant bob deploy@web3"]),
  ]

  @Test(arguments: cases)
  func diff(_ c: Case) throws {
    let diff = AccessDiff(old: try Self.state(Self.base), new: try Self.state(c.edit(Self.base)))
    #expect(diff.changes.map { "\($0.kind.rawValue) \($0.keyName) \($0.target)" } == c.expected)
    #expect(diff.isEmpty == c.expected.isEmpty)
  }

  @Test func anOptionChangeShowsBothSides() throws {
    let new = Self.base.replacingOccurrences(
      of: "keys: [bob] }", with: "keys: [bob], options: { command: /usr/bin/backup } }")
    let diff = AccessDiff(old: try Self.state(Self.base), new: try Self.state(new))
    #expect(diff.changes.first?.oldOptions == nil)
    #expect(diff.changes.first?.newOptions == "command=\"/usr/bin/backup\"")
    #expect(
      AccessDiffRenderer().text(diff).contains(
        "~ options on postgres@db1: (none) -> command=\"/usr/bin/backup\""))
  }

  @Test func largeGrantsAreFlagged() throws {
    let new = Self.base + "  - { hosts: [web, db1], users: [root], keys: [bob] }\n"
    let diff = AccessDiff(old: try Self.state(Self.base), new: try Self.state(new))
    let bob = try #require(diff.keys.first)
    #expect(bob.keyName == "bob")
    #expect(bob.large == ["gains root on 4 hosts", "now on every host (4)"])
    #expect(diff.keys.count == 1)
    let text = AccessDiffRenderer().text(diff)
    #expect(text.hasPrefix("'bob' ("))
    #expect(text.contains("!! large grant: gains root on 4 hosts"))
    #expect(text.contains("+ gains: root@db1, root@web1, root@web2, root@web3"))
    #expect(
      diff.summaryLine == "Access: 4 grants, 0 revokes, 0 option changes for 1 key; 1 large grant flagged.")
    let markdown = AccessDiffRenderer().markdownParts(diff)
    #expect(markdown.count == 1)
    #expect(markdown[0].hasPrefix("<!-- keyward diff part=1 of=1 digest=sha256:"))
    #expect(markdown[0].contains("> - `bob`: gains root on 4 hosts; now on every host (4)"))
    // The same diff gives the same marker; another diff another.
    #expect(AccessDiffRenderer().markdownParts(diff) == markdown)
    let other = AccessDiff(
      old: try Self.state(Self.base),
      new: try Self.state(Self.base + "  - { hosts: [db1], users: [root], keys: [bob] }\n"))
    #expect(AccessDiffRenderer().markdownParts(other)[0].prefix(100) != markdown[0].prefix(100))
  }

  @Test func aSmallGrantIsNotFlagged() throws {
    let new = Self.base + "  - { hosts: [web1], users: [root], keys: [bob] }\n"
    let diff = AccessDiff(old: try Self.state(Self.base), new: try Self.state(new))
    #expect(diff.keys.allSatisfy { $0.large.isEmpty })
  }
}

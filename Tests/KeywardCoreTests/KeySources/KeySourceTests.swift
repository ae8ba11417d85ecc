import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Testing

@testable import KeywardCore

/// Remote key sources: which names and URLs are accepted, how bodies are read, how the lock
/// round-trips and refuses tampering, and how manifests take keys from the lock only.
@Suite("Key sources and keyward.lock")
struct KeySourceTests {
  struct URLCase: Sendable, CustomStringConvertible {
    var name: String
    var kind: KeySource.Kind
    var value: String
    var base: String?
    /// The URL fetched, or nil when refused.
    var url: String?
    var description: String { name }
  }

  static let urlCases: [URLCase] = [
    URLCase(name: "github user", kind: .github, value: "alice", url: "https://github.com/alice.keys"),
    URLCase(name: "gitlab user", kind: .gitlab, value: "bob.b_2", url: "https://gitlab.com/bob.b_2.keys"),
    URLCase(
      name: "self-hosted gitlab, trailing slash", kind: .gitlab, value: "bob",
      base: "https://git.example.com/",
      url: "https://git.example.com/bob.keys"),
    URLCase(
      name: "loopback http", kind: .github, value: "alice", base: "http://127.0.0.1:8080",
      url: "http://127.0.0.1:8080/alice.keys"),
    URLCase(name: "plain http elsewhere", kind: .github, value: "alice", base: "http://github.example.com"),
    URLCase(name: "path traversal", kind: .gitlab, value: "../admin"),
    URLCase(name: "slash in user", kind: .github, value: "alice/x"),
    URLCase(name: "query in user", kind: .github, value: "alice?x=1"),
    URLCase(name: "underscore on github", kind: .github, value: "a_b"),
    URLCase(name: "empty user", kind: .github, value: ""),
    URLCase(name: "leading dash", kind: .github, value: "-alice"),
    URLCase(name: "control character", kind: .github, value: "al\u{1b}[2Jice"),
    URLCase(
      name: "https url", kind: .url, value: "https://keys.example.com/team.keys",
      url: "https://keys.example.com/team.keys"),
    URLCase(name: "ftp url", kind: .url, value: "ftp://keys.example.com/team.keys"),
    URLCase(name: "credentials in url", kind: .url, value: "https://u:p@keys.example.com/team.keys"),
    URLCase(name: "relative url", kind: .url, value: "team.keys"),
    URLCase(name: "localhost http", kind: .url, value: "http://localhost:9/k", url: "http://localhost:9/k"),
    URLCase(name: "127.1.2.3 http", kind: .url, value: "http://127.1.2.3/k", url: "http://127.1.2.3/k"),
    URLCase(name: "128.0.0.1 http", kind: .url, value: "http://128.0.0.1/k"),
    URLCase(name: "127.0.0.1.evil http", kind: .url, value: "http://127.0.0.1.evil.com/k"),
  ]

  @Test(arguments: urlCases)
  func sourceURLs(_ c: URLCase) {
    let source: KeySource?
    if c.kind == .url {
      source = try? KeySource(url: c.value)
    } else {
      source = try? KeySource(kind: c.kind, user: c.value, baseURL: c.base)
    }
    #expect(source?.url == c.url)
  }

  @Test func refusalsNeverEchoControlCharacters() {
    do {
      _ = try KeySource(kind: .github, user: "al\u{1b}[2Jice")
      Issue.record("accepted")
    } catch {
      #expect(!error.message.contains("\u{1b}"))
      #expect(error.message.contains("\\u{1b}"))
    }
  }

  struct BodyCase: Sendable, CustomStringConvertible {
    var name: String
    var body: String
    /// Fingerprints-worth of keys expected, or nil when the body is refused.
    var count: Int?
    var description: String { name }
  }

  static let bodyCases: [BodyCase] = [
    BodyCase(
      name: "github style", body: TestKeys.bare(TestKeys.alice) + "\n" + TestKeys.bare(TestKeys.bob) + "\n",
      count: 2),
    BodyCase(name: "no final newline", body: TestKeys.bare(TestKeys.alice), count: 1),
    BodyCase(name: "crlf and comments", body: "# team\r\n\r\n" + TestKeys.alice + "\r\n", count: 1),
    BodyCase(name: "repeated key counts once", body: TestKeys.alice + "\n" + TestKeys.alice + "\n", count: 1),
    BodyCase(name: "empty", body: "", count: 0),
    BodyCase(name: "html error page", body: "<html><body>rate limited</body></html>\n", count: nil),
    BodyCase(name: "one bad line among good", body: TestKeys.alice + "\nssh-ed25519 AAAA\n", count: nil),
    BodyCase(name: "key cut short", body: String(TestKeys.bare(TestKeys.alice).dropLast(10)), count: nil),
    BodyCase(name: "options in front", body: "command=\"/bin/sh\" " + TestKeys.alice + "\n", count: nil),
    BodyCase(name: "NUL byte", body: TestKeys.alice + "\n\u{0}\n", count: nil),
    BodyCase(name: "escape in comment", body: TestKeys.bare(TestKeys.alice) + " a\u{1b}[2Jb\n", count: nil),
  ]

  @Test(arguments: bodyCases)
  func responseBodies(_ c: BodyCase) {
    let keys = try? LockedKey.parseBody(Array(c.body.utf8))
    #expect(keys?.count == c.count)
  }

  @Test func invalidUTF8IsRefused() {
    #expect(throws: KeySourceError.self) { try LockedKey.parseBody([0x73, 0x73, 0x68, 0xFF, 0x0A]) }
  }

  static func lock(_ entries: [(String, [String])]) throws -> LockFile {
    var result: [LockFile.Entry] = []
    for (user, lines) in entries {
      let source = try KeySource(kind: .github, user: user)
      let keys = try LockedKey.parseBody(Array(lines.joined(separator: "\n").utf8))
      result.append(
        LockFile.Entry(
          source: source.description, url: source.url, fetchedAt: Date(timeIntervalSince1970: 1_780_000_000),
          keys: keys))
    }
    return LockFile(entries: result)
  }

  @Test func lockRoundTripsDeterministically() throws {
    let lock = try Self.lock([("bob", [TestKeys.bob]), ("alice", [TestKeys.alice, TestKeys.ci])])
    let bytes = lock.encoded()
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(try LockFile.decode(bytes) == lock)
    #expect(lock.encoded() == bytes)
    #expect(text.range(of: "alice.keys")!.lowerBound < text.range(of: "bob.keys")!.lowerBound)
    #expect(text.contains(TestKeys.key(TestKeys.ci).fingerprint))
    #expect(text.contains("\"fetched_at\" : \"2026-05-28T"))
  }

  @Test func lockRefusesAKeyThatIsNotItsFingerprint() throws {
    let lock = try Self.lock([("alice", [TestKeys.alice])])
    let text = String(decoding: lock.encoded(), as: UTF8.self)
    let swapped = text.replacingOccurrences(
      of: TestKeys.bare(TestKeys.alice).split(separator: " ")[1],
      with: TestKeys.bare(TestKeys.dave).split(separator: " ")[1])
    #expect(swapped != text)
    #expect(throws: KeySourceError.self) { try LockFile.decode(Array(swapped.utf8)) }
    let future = text.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 2")
    #expect(throws: KeySourceError.self) { try LockFile.decode(Array(future.utf8)) }
    #expect(throws: KeySourceError.self) { try LockFile.decode(Array("not json".utf8)) }
  }

  static func manifest(_ keys: String) -> [(file: String, bytes: [UInt8])] {
    let text = """
      version: 1
      keys:
      \(keys)
      hosts:
        web1: {}
      access:
        - hosts: [web1]
          users: [deploy]
          keys: [alice]

      """
    return [("keys.yaml", Array(text.utf8))]
  }

  static func granted(_ result: ManifestResult) -> [String] {
    (result.state?.targets.first?.entries ?? []).map { "\($0.key.fingerprint) \($0.comment ?? "-")" }.sorted()
  }

  @Test func keysComeFromTheLockWithTypesAndComment() throws {
    let lock = try Self.lock([("alice", [TestKeys.bare(TestKeys.alice), TestKeys.ci])])
    let loader = ManifestLoader(lock: lock)
    let all = loader.load(sources: Self.manifest("  alice: github:alice"))
    #expect(all.diagnostics.isEmpty, "\(all.diagnostics)")
    #expect(
      Self.granted(all)
        == [
          "\(TestKeys.key(TestKeys.alice).fingerprint) github:alice",
          "\(TestKeys.key(TestKeys.ci).fingerprint) ci@runner",
        ].sorted())
    let filtered = loader.load(
      sources: Self.manifest("  alice: { github: alice, types: [ssh-ed25519], comment: alice-gh }"))
    #expect(Self.granted(filtered) == ["\(TestKeys.key(TestKeys.alice).fingerprint) alice-gh"])
    #expect(all.keySources.map(\.source.url) == ["https://github.com/alice.keys"])
  }

  @Test func anEmptyPinIsAnErrorUnlessAllowed() throws {
    let lock = try Self.lock([("alice", [TestKeys.ci])])
    let loader = ManifestLoader(lock: lock)
    let refused = loader.load(sources: Self.manifest("  alice: { github: alice, types: [ssh-ed25519] }"))
    #expect(refused.diagnostics.map(\.code) == [.emptyKeySource])
    #expect(refused.state == nil)
    let allowed = loader.load(
      sources: Self.manifest("  alice: { github: alice, types: [ssh-ed25519], allow_empty: true }"))
    #expect(allowed.diagnostics.isEmpty, "\(allowed.diagnostics)")
    #expect(Self.granted(allowed).isEmpty)
  }

  @Test func withoutRequiringTheLockSourcesAreOnlyListed() {
    let result = ManifestLoader(requiresLock: false).load(
      sources: Self.manifest("  alice: [github:alice, { url: 'https://k.example.com/a', allow_empty: true }]")
    )
    #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    #expect(
      result.keySources.map(\.source.url) == ["https://github.com/alice.keys", "https://k.example.com/a"])
    #expect(result.keySources.map(\.allowsEmpty) == [false, true])
  }

  @Test func sourceChangesCompareMaterial() throws {
    let lock = try Self.lock([("alice", [TestKeys.alice, TestKeys.bob])])
    let source = try KeySource(kind: .github, user: "alice")
    let now = try LockedKey.parseBody(
      Array((TestKeys.bare(TestKeys.bob) + " renamed\n" + TestKeys.dave).utf8))
    let change = SourceChange.compare(source: source, locked: lock.entry(for: source), fetched: now)
    #expect(change.added.map(\.fingerprint) == [TestKeys.key(TestKeys.dave).fingerprint])
    #expect(change.removed.map(\.fingerprint) == [TestKeys.key(TestKeys.alice).fingerprint])
    #expect(!change.isNew)
  }
}

extension TestKeys {
  /// `type base64` of a test key line, without its comment (as GitHub serves keys).
  static func bare(_ line: String) -> String { line.split(separator: " ").prefix(2).joined(separator: " ") }
}

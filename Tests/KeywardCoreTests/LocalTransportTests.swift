import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@Suite("LocalTransport")
struct LocalTransportTests {
  let alice = TargetID(user: "alice", host: "img")

  @Test func fetchesAnAbsentFileAndItsSurroundings() async throws {
    let root = try TemporaryRoot()
    let transport = LocalTransport(root: root.path, host: "img")
    let result = await transport.fetch([FetchRequest(id: alice)])
    let observed = try #require(try result[alice]?.get())
    #expect(observed.content == nil)
    #expect(observed.digest == ContentDigest.absent)
    #expect(observed.directory == nil)
    #expect(observed.home == "/home/alice")
    #expect(observed.uid == 2001)
    #expect(observed.homeStatus?.mode == 0o755)
  }

  @Test func anUnknownUserIsAnErrorForThatTargetOnly() async throws {
    let root = try TemporaryRoot()
    let ghost = TargetID(user: "ghost", host: "img")
    let result = await LocalTransport(root: root.path, host: "img").fetch([
      FetchRequest(id: ghost), FetchRequest(id: alice),
    ])
    #expect(throws: TransportError.self) { try result[ghost]?.get() }
    #expect((try? result[alice]?.get()) != nil)
  }

  @Test func anExpandedPathThroughDotDotIsRefusedBeforeAnyIO() async throws {
    let root = try TemporaryRoot()
    // A home that climbs out: the expanded path is refused, nothing under it is read or written.
    try
      (try String(contentsOfFile: root.path + "/etc/passwd", encoding: .utf8)
      + "mallory:x:2003:2003::/home/../root:/bin/bash\n").write(
        toFile: root.path + "/etc/passwd", atomically: true, encoding: .utf8)
    let mallory = TargetID(user: "mallory", host: "img")
    let transport = LocalTransport(root: root.path, host: "img")
    let fetched = await transport.fetch([FetchRequest(id: mallory)])
    #expect(throws: TransportError.self) { try fetched[mallory]?.get() }
    let written = await transport.write([
      WriteRequest(id: mallory, expectedDigest: ContentDigest.absent, content: Array("x\n".utf8))
    ])
    guard case .failed(let error)? = written[mallory] else {
      Issue.record("written: \(String(describing: written[mallory]))")
      return
    }
    #expect(error.message.contains("'..'") || error.message.contains(".."), "\(error)")
    #expect(!FileManager.default.fileExists(atPath: root.path + "/root/.ssh"))
  }

  @Test func writesCreateTheDirectoryAndFileWithStrictModesAndOwner() async throws {
    let root = try TemporaryRoot()
    let transport = LocalTransport(root: root.path, host: "img")
    let content = Array((TestKeys.alice + "\n").utf8)
    let outcome = await transport.write([
      WriteRequest(id: alice, expectedDigest: ContentDigest.absent, content: content, directoryMode: 0o700)
    ])
    #expect(outcome[alice] == .written(digest: ContentDigest.of(content)))
    #expect(root.read("alice") == TestKeys.alice + "\n")
    #expect(root.mode(root.path + "/home/alice/.ssh") == 0o700)
    #expect(root.mode(root.file("alice")) == 0o600)
    if geteuid() == 0 {
      var st = stat()
      stat(root.file("alice"), &st)
      #expect(st.st_uid == 2001)
      stat(root.path + "/home/alice/.ssh", &st)
      #expect(st.st_uid == 2001)
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path + "/home/alice/.ssh")
    #expect(leftovers == ["authorized_keys"])
  }

  @Test func aStaleDigestWritesNothing() async throws {
    let root = try TemporaryRoot()
    try root.put("alice", "someone else's edit\n")
    let before = root.inode(root.file("alice"))
    let outcome = await LocalTransport(root: root.path, host: "img").write([
      WriteRequest(id: alice, expectedDigest: ContentDigest.absent, content: Array("new\n".utf8))
    ])
    #expect(outcome[alice] == .stale(currentDigest: ContentDigest.of(Array("someone else's edit\n".utf8))))
    #expect(root.read("alice") == "someone else's edit\n")
    #expect(root.inode(root.file("alice"))?.0 == before?.0)
  }

  @Test func symlinkedFilesAreRefusedUnlessFollowed() async throws {
    let root = try TemporaryRoot()
    try root.put("alice", "old\n")
    let elsewhere = root.path + "/elsewhere"
    try "victim\n".write(toFile: elsewhere, atomically: false, encoding: .utf8)
    try FileManager.default.removeItem(atPath: root.file("alice"))
    try FileManager.default.createSymbolicLink(atPath: root.file("alice"), withDestinationPath: elsewhere)
    let transport = LocalTransport(root: root.path, host: "img")
    let fetched = await transport.fetch([FetchRequest(id: alice)])[alice]
    guard case .failure(let refused) = fetched else {
      Issue.record("expected the fetch to refuse the symlink, got \(String(describing: fetched))")
      return
    }
    #expect(refused.code == .symlinkRefused)
    let outcome = await transport.write([
      WriteRequest(id: alice, expectedDigest: ContentDigest.absent, content: Array("x\n".utf8))
    ])
    guard case .failed(let error) = outcome[alice] else {
      Issue.record("expected a refusal, got \(String(describing: outcome[alice]))")
      return
    }
    #expect(error.code == .symlinkRefused)
    #expect(try String(contentsOfFile: elsewhere, encoding: .utf8) == "victim\n")
  }

  @Test func leftoversOfAnInterruptedWriteAreRemovedAndTheOldFileStays() async throws {
    let root = try TemporaryRoot()
    try root.put("alice", "old\n")
    let leftover = root.path + "/home/alice/.ssh/.keyward-tmp.authorized_keys.crashed"
    try "partial".write(toFile: leftover, atomically: false, encoding: .utf8)
    let outcome = await LocalTransport(root: root.path, host: "img").write([
      WriteRequest(
        id: alice, expectedDigest: ContentDigest.of(Array("old\n".utf8)), content: Array("new\n".utf8))
    ])
    #expect(outcome[alice] == .written(digest: ContentDigest.of(Array("new\n".utf8))))
    #expect(!FileManager.default.fileExists(atPath: leftover))
    #expect(root.read("alice") == "new\n")
  }

  @Test(arguments: [
    ("%h/.ssh/keys", "/home/alice/.ssh/keys"), ("/etc/ssh/keys/%u", "/etc/ssh/keys/alice"),
    (".ssh/authorized_keys", "/home/alice/.ssh/authorized_keys"), ("/x/100%%", "/x/100%"), ("/x/%z", "/x/%z"),
  ])
  func pathTokensExpandAsSshdDoes(pattern: String, expected: String) {
    #expect(TargetID(user: "alice", host: "h", path: pattern).absolutePath(home: "/home/alice") == expected)
  }
}

import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

/// `--root DIR` primitives: nothing outside DIR and nothing behind a symlink is reached, with
/// `openat2` and with the component walk used where the kernel lacks it.
@Suite("RootedFilePrimitives")
struct RootedFilePrimitivesTests {
  /// DIR/a/b/file, DIR/link -> /a, DIR/a/up -> ../../.., DIR/a/etc -> /etc, DIR/a/b/self -> file.
  static func tree() throws -> TemporaryRoot {
    let root = try TemporaryRoot()
    let fm = FileManager.default
    try fm.createDirectory(atPath: root.path + "/a/b", withIntermediateDirectories: true)
    try "inside\n".write(toFile: root.path + "/a/b/file", atomically: false, encoding: .utf8)
    try fm.createSymbolicLink(atPath: root.path + "/link", withDestinationPath: "/a")
    try fm.createSymbolicLink(atPath: root.path + "/a/up", withDestinationPath: "../../..")
    try fm.createSymbolicLink(atPath: root.path + "/a/etc", withDestinationPath: "/etc")
    try fm.createSymbolicLink(atPath: root.path + "/a/b/self", withDestinationPath: "file")
    return root
  }

  func kind(_ body: () throws -> Void) -> FileSystemError.Kind? {
    do {
      try body()
      return nil
    } catch {
      return (error as? FileSystemError)?.kind
    }
  }

  @Test(arguments: [false, true])
  func nothingBehindASymlinkOrOutsideTheRootIsReached(walk: Bool) throws {
    let root = try Self.tree()
    let fs = try RootedFilePrimitives(root: root.path, forceWalk: walk)
    print("RootedFilePrimitives: openat2 \(fs.usesOpenat2 ? "used" : "not used") (forceWalk \(walk))")
    #expect(try fs.status("/a/b/file", follow: false)?.kind == .regular)
    #expect(try fs.status("/a/b/missing", follow: false) == nil)
    #expect(try fs.status("/link", follow: false)?.kind == .symlink)
    // A symlink anywhere on the way is refused, and so is '..'.
    #expect(kind { _ = try fs.status("/link/b/file", follow: false) } == .symlink)
    #expect(kind { _ = try fs.openForReading("/link/b/file", follow: false) } == .symlink)
    #expect(kind { _ = try fs.openForReading("/a/b/self", follow: false) } == .symlink)
    #expect(kind { _ = try fs.status("/a/../a/b/file", follow: false) } == .escapesRoot)
    #expect(kind { _ = try fs.createExclusive("/link/new", mode: 0o600) } == .symlink)
    #expect(!FileManager.default.fileExists(atPath: root.path + "/a/new"))
    #expect(kind { _ = try fs.createExclusive("/a/b/self", mode: 0o600) } == .exists)
    #expect(kind { try fs.setAttributes("/a/etc", mode: 0o700, owner: nil) } == .symlink)
    #expect(kind { try fs.makeDirectory("/link/d", mode: 0o700) } == .symlink)
    #expect(kind { _ = try fs.list("/link") } == .symlink)
    #expect(kind { try fs.unlink("/link/b/file") } == .symlink)
    #expect(FileManager.default.fileExists(atPath: root.path + "/a/b/file"))
  }

  @Test func followingResolvesInsideTheRoot() throws {
    let root = try Self.tree()
    let fs = try RootedFilePrimitives(root: root.path)
    guard fs.usesOpenat2 else {
      #expect(kind { _ = try fs.resolve("/link") } == .unsupported)
      return
    }
    #expect(try fs.resolve("/link/b/self") == "/a/b/file")
    #expect(try fs.resolve("/a/up") == "/")  // '..' stops at the root
    #expect(try fs.resolve("/a/etc") == "/etc")  // the root's /etc, not this machine's
    #expect(try fs.status("/a/etc/passwd", follow: true)?.size == UInt64(root.passwdSize))
    let handle = try #require(try fs.openForReading("/a/b/self", follow: true))
    defer { fs.close(handle) }
    #expect(try fs.read(handle, offset: 0, count: 100) == Array("inside\n".utf8))
  }

  @Test(arguments: [false, true])
  func theWritePrimitivesWork(walk: Bool) throws {
    let root = try Self.tree()
    let fs = try RootedFilePrimitives(root: root.path, forceWalk: walk)
    try fs.makeDirectory("/a/d", mode: 0o700)
    let handle = try fs.createExclusive("/a/d/t", mode: 0o600)
    try fs.write(handle, offset: 0, bytes: Array("hello\n".utf8))
    try fs.setAttributes(of: handle, mode: 0o640, owner: FileOwner(uid: 2001, gid: 2001))
    try fs.sync(handle)
    let status = try fs.status(of: handle)
    fs.close(handle)
    #expect(status.kind == .regular && status.mode == 0o640 && status.uid == 2001 && status.size == 6)
    try fs.link("/a/d/t", to: "/a/d/u")
    #expect(try fs.status("/a/d/u", follow: false)?.linkCount == 2)
    try fs.rename("/a/d/u", to: "/a/d/v")
    #expect(try fs.list("/a/d").sorted() == ["t", "v"])
    try fs.syncDirectory("/a/d")
    try fs.setAttributes("/a/d", mode: 0o750, owner: nil)
    #expect(try fs.status("/a/d", follow: false)?.mode == 0o750)
    try fs.unlink("/a/d/t")
    try fs.unlink("/a/d/v")
    try fs.removeDirectory("/a/d")
    #expect(try fs.status("/a/d", follow: false) == nil)
  }
}

extension TemporaryRoot {
  fileprivate var passwdSize: Int {
    (try? FileManager.default.attributesOfItem(atPath: path + "/etc/passwd")[.size] as? Int) ?? -1
  }
}

import Foundation
import KeywardCore
import SFTP
import Testing

/// The client against the real OpenSSH `sftp-server`, spawned through `ProcessStream`.
@Suite("SFTP client against sftp-server")
struct SFTPServerTests {
  @Test func handshakeAnnouncesTheExtensionsKeywardNeeds() throws {
    let sandbox = try SFTPSandbox()
    let client = try sandbox.rootClient()
    #expect(client.version == 3)
    for name in [
      "posix-rename@openssh.com", "hardlink@openssh.com", "fsync@openssh.com", "lsetstat@openssh.com",
    ] {
      #expect(client.supports(name), "missing \(name)")
    }
  }

  @Test func everyOperation() throws {
    let sandbox = try SFTPSandbox()
    let client = try sandbox.rootClient()
    let dir = sandbox.path + "/d"
    try client.makeDirectory(dir, attributes: SFTPAttributes(permissions: 0o700))
    #expect(try client.lstat(dir).fileType == .directory)

    let file = dir + "/f"
    let handle = try client.open(
      file, flags: [.write, .create, .exclusive], attributes: SFTPAttributes(permissions: 0o600))
    try client.write(handle, offset: 0, data: Array("hello ".utf8))
    try client.write(handle, offset: 6, data: Array("world\n".utf8))
    try client.fsync(handle)
    try client.fsetstat(handle, attributes: SFTPAttributes(permissions: 0o640))
    let opened = try client.fstat(handle)
    #expect(opened.size == 12)
    #expect(opened.permissions.map { $0 & 0o7777 } == 0o640)
    #expect(opened.fileType == .regular)
    #expect(opened.uid == 0 && opened.gid == 0)
    try client.close(handle)
    #expect(SFTPSandbox.bytes(file) == Array("hello world\n".utf8))

    let reader = try client.open(file, flags: .read)
    #expect(try client.read(reader, offset: 6, length: 100) == Array("world\n".utf8))
    #expect(try client.read(reader, offset: 12, length: 100) == [])
    try client.close(reader)

    try client.setstat(file, attributes: SFTPAttributes(permissions: 0o600))
    #expect(try client.stat(file).permissions.map { $0 & 0o7777 } == 0o600)

    let link = sandbox.symlink("d/link", to: file)
    #expect(try client.lstat(link).fileType == .symlink)
    #expect(try client.stat(link).fileType == .regular)
    #expect(try client.readlink(link) == file)
    try client.lsetstat(link, attributes: SFTPAttributes(uid: 0, gid: 0))
    #expect(try client.stat(file).permissions.map { $0 & 0o7777 } == 0o600)

    #expect(try client.realpath(dir + "/../d/./f") == file)

    try client.hardlink(file, to: dir + "/hard")
    var info = stat()
    lstat(file, &info)
    #expect(info.st_nlink == 2)

    _ = try sandbox.file("d/other", Array("other\n".utf8))
    try client.posixRename(dir + "/other", to: dir + "/hard")
    #expect(SFTPSandbox.bytes(dir + "/hard") == Array("other\n".utf8))
    try client.rename(dir + "/hard", to: dir + "/renamed")

    let names = try client.listDirectory(dir).map(\.filename).sorted()
    #expect(names == [".", "..", "f", "link", "renamed"])

    for name in ["f", "link", "renamed"] { try client.remove(dir + "/" + name) }
    try client.removeDirectory(dir)
    #expect(!FileManager.default.fileExists(atPath: dir))
  }

  @Test func pipelinedWriteAndReadOfSeveralMebibytes() throws {
    let sandbox = try SFTPSandbox()
    let client = try sandbox.rootClient()
    var random = SeededBytes(seed: 9)
    let content = random.bytes(5 * 1024 * 1024 + 12345)
    let path = sandbox.path + "/big"
    let handle = try client.open(path, flags: [.write, .create, .exclusive])
    let clock = ContinuousClock()
    let writing = try clock.measure { try client.writeAll(handle, offset: 0, data: content) }
    try client.close(handle)
    #expect(SFTPSandbox.bytes(path) == content)
    var back: [UInt8] = []
    let reading = try clock.measure { back = try client.readFile(path, limit: 16 * 1024 * 1024) }
    #expect(back == content)
    print("sftp pipelined: wrote \(content.count) bytes in \(writing), read them in \(reading)")
  }

  @Test func theSizeLimitRefusesOneByteMore() throws {
    let sandbox = try SFTPSandbox()
    let client = try sandbox.rootClient()
    let limit = 16 * 1024 * 1024
    let path = try sandbox.file("limit", [])
    truncate(path, off_t(limit))
    #expect(try client.readFile(path, limit: limit).count == limit)
    truncate(path, off_t(limit + 1))
    let error = #expect(throws: SFTPError.self) { try client.readFile(path, limit: limit) }
    #expect(error?.kind == .tooLarge)
    // The session is still usable after the refusal.
    #expect(try client.stat(path).size == UInt64(limit + 1))
  }

  @Test func serverErrorsBecomeTypedErrorsWithSafeMessages() throws {
    let sandbox = try SFTPSandbox()
    let client = try sandbox.rootClient()
    let missing = sandbox.path + "/missing\u{1b}[31m"
    let notFound = #expect(throws: SFTPError.self) { try client.open(missing, flags: .read) }
    #expect(notFound?.status == .noSuchFile)
    #expect(notFound?.message.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } == true)
    #expect(notFound?.message.contains("missing?[31m") == true)

    try sandbox.file("exists", [1])
    let exists = #expect(throws: SFTPError.self) {
      try client.open(sandbox.path + "/exists", flags: [.write, .create, .exclusive])
    }
    #expect(exists?.status == .failure)

    try sandbox.directory("full")
    try sandbox.file("full/x", [1])
    #expect(throws: SFTPError.self) { try client.removeDirectory(sandbox.path + "/full") }
    #expect(throws: SFTPError.self) {
      try client.rename(sandbox.path + "/exists", to: sandbox.path + "/full/x")
    }
    // Still usable after every refusal.
    #expect(try client.lstat(sandbox.path + "/full/x").size == 1)
  }
}

import Foundation
import KeywardCore
import SFTP
import Testing

/// `SFTPFilePrimitives` against the real `sftp-server`, and what it cannot be made to do when
/// the server runs as an unprivileged uid.
@Suite("SFTPFilePrimitives")
struct SFTPFilePrimitivesTests {
  @Test func theReplaceSequenceWorksThroughThePrimitives() throws {
    let sandbox = try SFTPSandbox()
    let files = SFTPFilePrimitives(client: try sandbox.rootClient())
    let dir = sandbox.path + "/ssh"
    #expect(try files.status(dir, follow: false) == nil)
    try files.makeDirectory(dir, mode: 0o700)
    #expect(try files.status(dir, follow: false)?.kind == .directory)
    #expect(throws: FileSystemError.self) { try files.makeDirectory(dir, mode: 0o700) }

    let temp = dir + "/keys.tmp"
    let file = try files.createExclusive(temp, mode: 0o600)
    try files.write(file, offset: 0, bytes: Array("ssh-ed25519 AAAA\n".utf8))
    try files.sync(file)
    try files.setAttributes(of: file, mode: 0o644, owner: FileOwner(uid: 0, gid: 0))
    let opened = try files.status(of: file)
    #expect(opened.kind == .regular && opened.mode == 0o644 && opened.uid == 0 && opened.size == 17)
    #expect(abs(opened.modified - Int64(time(nil))) < 60)
    files.close(file)
    try files.rename(temp, to: dir + "/keys")
    try files.syncDirectory(dir)
    try files.link(dir + "/keys", to: dir + "/keys.backup")
    #expect(try files.list(dir) == ["keys", "keys.backup"])

    let reader = try #require(try files.openForReading(dir + "/keys", follow: false))
    #expect(try files.read(reader, offset: 0, count: 1000) == Array("ssh-ed25519 AAAA\n".utf8))
    #expect(try files.read(reader, offset: 12, count: 2) == Array("AA".utf8))
    files.close(reader)
    try files.setAttributes(dir, mode: 0o711, owner: nil)
    #expect(try files.status(dir, follow: true)?.mode == 0o711)
    try files.unlink(dir + "/keys.backup")
    #expect(try files.list(dir) == ["keys"])
    #expect(try files.openForReading(dir + "/absent", follow: false) == nil)
    #expect(try files.resolve(dir + "/../ssh/./keys") == dir + "/keys")
    try files.unlink(dir + "/keys")
    try files.removeDirectory(dir)
    #expect(try files.status(dir, follow: false) == nil)
  }

  @Test func aFIFOIsRefusedWithoutBlockingTheServer() throws {
    let sandbox = try SFTPSandbox()
    let files = SFTPFilePrimitives(client: try sandbox.rootClient())
    let fifo = sandbox.path + "/fifo"
    #expect(mkfifo(fifo, 0o600) == 0)
    let link = sandbox.symlink("link", to: fifo)
    for (path, follow) in [(fifo, false), (fifo, true), (link, true)] {
      let error = #expect(throws: FileSystemError.self) { try files.openForReading(path, follow: follow) }
      #expect(error?.kind == .failed)
    }
    #expect(try files.list(sandbox.path) == ["fifo", "link"])
  }

  @Test func existingNamesAndSymlinksAreToldApart() throws {
    let sandbox = try SFTPSandbox()
    let files = SFTPFilePrimitives(client: try sandbox.rootClient())
    let target = try sandbox.file("target", Array("secret\n".utf8))
    let link = sandbox.symlink("link", to: target)
    let dangling = sandbox.symlink("dangling", to: sandbox.path + "/nowhere")

    for path in [target, link, dangling] {
      let error = #expect(throws: FileSystemError.self) { try files.createExclusive(path, mode: 0o600) }
      #expect(error?.kind == .exists, "\(path)")
    }
    #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/nowhere"))
    let refused = #expect(throws: FileSystemError.self) { try files.openForReading(link, follow: false) }
    #expect(refused?.kind == .symlink)
    #expect(try files.openForReading(link, follow: true) != nil)
    #expect(try files.status(link, follow: false)?.kind == .symlink)
    let linked = #expect(throws: FileSystemError.self) { try files.link(target, to: link) }
    #expect(linked?.kind == .exists)
    #expect(try files.status(sandbox.path + "/none", follow: true) == nil)
    let gone = #expect(throws: FileSystemError.self) { try files.unlink(sandbox.path + "/none") }
    #expect(gone?.kind == .notFound)
  }

  @Test func aServerThatCannotStartSaysWhy() {
    let error = #expect(throws: FileSystemError.self) {
      try SFTPFilePrimitives.start(arguments: [
        "/usr/bin/setpriv", "--reuid=64123", "--regid=64123", "--clear-groups", "--", SFTPSandbox.serverPath,
      ])
    }
    #expect(error?.kind == .connectionLost)
    #expect(error?.detail.contains("No user found for uid 64123") == true)
  }

  /// The point of the SFTP route: a server started as the user can only reach what the user
  /// could reach anyway, whatever symlinks the user plants.
  @Test func anUnprivilegedServerCannotReadRootsFileThroughAPlantedSymlink() throws {
    let sandbox = try SFTPSandbox()
    let stranger = SFTPSandbox.strangerID
    try sandbox.directory("root-only", mode: 0o755)
    let secret = try sandbox.file("root-only/secret", Array("root's secret\n".utf8), mode: 0o600)
    let home = try sandbox.directory("home", owner: stranger, mode: 0o700)
    let planted = sandbox.symlink("home/authorized_keys", to: secret)
    lchown(planted, stranger, stranger)
    let before = SFTPSandbox.fingerprint(secret)

    let client = try sandbox.strangerClient()
    let error = #expect(throws: SFTPError.self) { try client.readFile(planted, limit: 16 * 1024 * 1024) }
    #expect(error?.status == .permissionDenied)
    let files = SFTPFilePrimitives(client: client)
    let viaFollow = #expect(throws: FileSystemError.self) { try files.openForReading(planted, follow: true) }
    #expect(viaFollow?.kind == .permissionDenied)
    #expect(throws: FileSystemError.self) { try files.openForReading(planted, follow: false) }
    // The stranger's own files remain fully usable.
    let own = try files.createExclusive(home + "/mine", mode: 0o600)
    try files.write(own, offset: 0, bytes: [1, 2, 3])
    #expect(try files.status(of: own).uid == stranger)
    files.close(own)
    #expect(SFTPSandbox.fingerprint(secret) == before)
  }

  @Test func anUnprivilegedServerCannotReplaceOrChangeARootOwnedFile() throws {
    let sandbox = try SFTPSandbox()
    let stranger = SFTPSandbox.strangerID
    let rootSSH = try sandbox.directory("root/.ssh", mode: 0o700)
    let rootKeys = try sandbox.file(
      "root/.ssh/authorized_keys", Array("ssh-ed25519 ADMIN\n".utf8), mode: 0o600)
    let readable = try sandbox.file("root/motd", Array("hello\n".utf8), mode: 0o644)
    let home = try sandbox.directory("home", owner: stranger, mode: 0o755)
    let sshLink = sandbox.symlink("home/.ssh", to: rootSSH)
    let fileLink = sandbox.symlink("home/motd", to: readable)
    lchown(sshLink, stranger, stranger)
    lchown(fileLink, stranger, stranger)
    let watched = [rootKeys, readable]
    let before = watched.map(SFTPSandbox.fingerprint)

    let files = SFTPFilePrimitives(client: try sandbox.strangerClient())
    let temp = try files.createExclusive(home + "/keys.tmp", mode: 0o600)
    try files.write(temp, offset: 0, bytes: Array("ssh-ed25519 ALICE\n".utf8))
    files.close(temp)

    var attempts = 0
    func refused(
      _ what: String, as kinds: Set<FileSystemError.Kind> = [.permissionDenied, .notFound],
      _ body: () throws -> Void
    ) {
      attempts += 1
      do {
        try body()
        Issue.record("\(what) succeeded as uid \(stranger)")
      } catch {
        let kind = (error as? FileSystemError)?.kind
        #expect(kind.map(kinds.contains) == true, "\(what): \(error)")
      }
    }
    refused("rename over root's file") {
      try files.rename(home + "/keys.tmp", to: sshLink + "/authorized_keys")
    }
    refused("create next to root's file") { _ = try files.createExclusive(sshLink + "/new", mode: 0o600) }
    refused("open root's file through ~/.ssh") {
      _ = try files.openForReading(sshLink + "/authorized_keys", follow: true)
    }
    refused("chmod root's file") {
      try files.setAttributes(sshLink + "/authorized_keys", mode: 0o666, owner: nil)
    }
    refused("chown root's file") {
      try files.setAttributes(
        sshLink + "/authorized_keys", mode: nil, owner: FileOwner(uid: stranger, gid: stranger))
    }
    refused("unlink root's file") { try files.unlink(sshLink + "/authorized_keys") }
    refused("hard-link root's file") { try files.link(rootKeys, to: home + "/stolen") }
    // lsetstat never follows the link; Linux cannot chmod a symlink itself (EOPNOTSUPP).
    refused("chmod a readable root file through a symlink", as: [.permissionDenied, .failed, .unsupported]) {
      try files.setAttributes(fileLink, mode: 0o666, owner: nil)
    }
    attempts += 1
    let write = #expect(throws: SFTPError.self) {
      try files.client.open(fileLink, flags: [.write, .truncate])
    }
    #expect(write?.status == .permissionDenied)
    #expect(watched.map(SFTPSandbox.fingerprint) == before)
    print("sftp as uid \(stranger): \(attempts) attacks on root's files refused")
  }
}

import Foundation
import KeywardTestSupport
import Testing

/// Live `keyward --local` (no `--root`), as root and as an ordinary user, inside a private mount
/// namespace whose `/etc/passwd`, `/etc/group`, `/home` and `/root` are a temporary tree: the
/// machine's own users are never touched. As root, each user's files are reached through an
/// `sftp-server` run as that user; hostile files are refused and change nothing.
@Suite(
  "live --local acting as each user", .tags(.processes),
  .enabled(if: LiveLocal.enabled, "needs root, unshare, setpriv, sftp-server"))
struct LocalLiveTests {
  let tree: TemporaryRoot
  var path: String { tree.path }

  init() throws {
    #expect(LiveLocal.missingPrerequisite == nil, "required in CI")
    tree = try TemporaryRoot()
    chmod(tree.path, 0o755)
    try "root:x:0:\nalice:x:2001:\nbob:x:2002:\n".write(
      toFile: tree.path + "/etc/group", atomically: false, encoding: .utf8)
    for (user, uid) in [("alice", uid_t(2001)), ("bob", 2002)] {
      chmod(tree.path + "/home/" + user, 0o700)
      chown(tree.path + "/home/" + user, uid, uid)
    }
    try FileManager.default.createDirectory(
      atPath: tree.path + "/root/.ssh", withIntermediateDirectories: true)
    chmod(tree.path + "/root", 0o700)
    chmod(tree.path + "/root/.ssh", 0o700)
    try (TestKeys.ci + "\n").write(
      toFile: tree.path + "/root/.ssh/authorized_keys", atomically: false, encoding: .utf8)
    chmod(tree.path + "/root/.ssh/authorized_keys", 0o600)
    try tree.put("bob", TestKeys.bob + "\n")
    chmod(tree.path + "/home/bob/.ssh", 0o700)
  }

  func manifest(_ extra: String = "", users: String = "[alice, bob]") throws -> String {
    let file = path + "/keys-\(UUID().uuidString).yaml"
    try """
    version: 1
    keys:
      alice: \(TestKeys.alice)
    hosts:
      img: {}
    access:
      - hosts: [img]
        users: \(users)
        keys: [alice]
        mode: exclusive
    \(extra.isEmpty ? "" : "    " + extra + "\n")
    """.write(toFile: file, atomically: true, encoding: .utf8)
    chmod(file, 0o644)
    return file
  }

  /// Runs keyward in a private mount namespace over the tree; `uid`: as that user (setpriv).
  func keyward(_ arguments: [String], uid: UInt32? = nil) throws -> (status: Int32, output: String) {
    let script = """
      set -e
      mount --bind "$1/etc/passwd" /etc/passwd
      mount --bind "$1/etc/group" /etc/group
      mount --bind "$1/home" /home
      mount --bind "$1/root" /root
      shift
      exec "$@"
      """
    var command = [KeywardProcess.executable.path] + arguments + ["--local", "--host", "img"]
    if let uid {
      command = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--init-groups", "--"] + command
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments =
      [
        "30", "/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh",
        path,
      ]
      + command
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    process.environment = env
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  func facts(_ file: String) -> String? {
    var st = stat()
    guard lstat(path + file, &st) == 0 else { return nil }
    let bytes = FileManager.default.contents(atPath: path + file).map { Array($0) } ?? []
    return "\(bytes) \(st.st_uid):\(st.st_gid) \(String(st.st_mode, radix: 8))"
  }

  var watchList: [String?] {
    [
      "/root/.ssh/authorized_keys", "/root/.ssh", "/home/bob/.ssh/authorized_keys", "/home/bob/.ssh",
      "/etc/passwd",
    ]
    .map(facts)
  }

  @Test func asRootEachUsersFilesAreWrittenAsThatUser() throws {
    let manifest = try manifest()
    let apply = try keyward(["apply", manifest, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.output)")
    for (user, uid) in [("alice", UInt32(2001)), ("bob", 2002)] {
      #expect(tree.readKeys(user) == TestKeys.alice + "\n")
      var st = stat()
      lstat(tree.file(user), &st)
      #expect(st.st_uid == uid && st.st_gid == uid && st.st_mode & 0o7777 == 0o600, "\(user)")
      lstat(path + "/home/\(user)/.ssh", &st)
      #expect(st.st_uid == uid && st.st_mode & 0o7777 == 0o700, "\(user)")
    }
    let again = try keyward(["plan", manifest, "--detailed-exitcode"])
    #expect(again.status == 0, "\(again.output)")
    #expect(again.output.contains("No changes."))
  }

  /// Issue 9's starting states, live: the sftp-server run as alice fixes modes and writes the
  /// file; the next plan is empty and the next apply writes nothing (same inode and mtime).
  @Test(arguments: ["missing ~/.ssh", "missing file", "dir 0777", "dir 0775 shared group", "file 0666"])
  func startingStatesConverge(_ start: String) throws {
    let ssh = path + "/home/alice/.ssh"
    if start != "missing ~/.ssh" {
      try tree.put("alice", TestKeys.bob + "\n")
      switch start {
      case "missing file": unlink(tree.file("alice"))
      case "dir 0777": chmod(ssh, 0o777)
      case "dir 0775 shared group": chmod(ssh, 0o775)
      case "file 0666": chmod(tree.file("alice"), 0o666)
      default: break
      }
    }
    let manifest = try manifest(users: "[alice]")
    let apply = try keyward(["apply", manifest, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.output)")
    #expect(tree.readKeys("alice") == TestKeys.alice + "\n")
    #expect(tree.mode(ssh) == 0o700 && tree.mode(tree.file("alice")) == 0o600)
    let plan = try keyward(["plan", manifest, "--detailed-exitcode"])
    #expect(plan.status == 0 && plan.output.contains("No changes."), "\(plan.output)")
    let before = tree.inode(tree.file("alice"))
    let again = try keyward(["apply", manifest, "--auto-approve"])
    #expect(again.status == 0, "\(again.output)")
    let after = tree.inode(tree.file("alice"))
    #expect(before?.0 == after?.0 && before?.1 == after?.1, "the second apply rewrote the file")
  }

  @Test func asAnOrdinaryUserOnlyItsOwnFilesAreManaged() throws {
    let before = watchList
    let apply = try keyward(["apply", try manifest(), "--auto-approve"], uid: 2001)
    #expect(apply.status == 1, "\(apply.output)")
    #expect(apply.output.contains("manages only that user's own files"), "\(apply.output)")
    #expect(tree.readKeys("alice") == TestKeys.alice + "\n")
    #expect(watchList == before)
  }

  /// Symlinks to root's and bob's files (followed on purpose), a hard link to bob's file, a
  /// FIFO, a 1 GiB sparse file: refused by the kernel (keyward acts as alice) or by keyward's
  /// own checks, never written.
  @Test func hostileFilesAreRefusedAsTheUser() throws {
    let fm = FileManager.default
    let ssh = path + "/home/alice/.ssh"
    let attacks: [(String, String, [String], () throws -> Void)] = [
      (
        "~/.ssh -> /root/.ssh, follow", "follow: true", ["permission denied", "Permission denied"],
        {
          try fm.createSymbolicLink(atPath: ssh, withDestinationPath: "/root/.ssh")
          lchown(ssh, 2001, 2001)
        }
      ),
      (
        "authorized_keys -> bob's, follow", "follow: true", ["permission denied", "Permission denied"],
        {
          try fm.createDirectory(atPath: ssh, withIntermediateDirectories: true)
          chown(ssh, 2001, 2001)
          try fm.createSymbolicLink(
            atPath: ssh + "/authorized_keys", withDestinationPath: "/home/bob/.ssh/authorized_keys")
          lchown(ssh + "/authorized_keys", 2001, 2001)
        }
      ),
      (
        "hard link to root's file", "", ["owned by uid 0"],
        {
          try fm.createDirectory(atPath: ssh, withIntermediateDirectories: true)
          chown(ssh, 2001, 2001)
          link(path + "/root/.ssh/authorized_keys", ssh + "/authorized_keys")
        }
      ),
      (
        "FIFO", "", ["not a regular file"],
        {
          try fm.createDirectory(atPath: ssh, withIntermediateDirectories: true)
          chown(ssh, 2001, 2001)
          mkfifo(ssh + "/authorized_keys", 0o600)
          chown(ssh + "/authorized_keys", 2001, 2001)
        }
      ),
      (
        "1 GiB sparse file", "", ["over the 16 MiB limit"],
        {
          try fm.createDirectory(atPath: ssh, withIntermediateDirectories: true)
          chown(ssh, 2001, 2001)
          let fd = open(ssh + "/authorized_keys", O_WRONLY | O_CREAT, 0o600)
          ftruncate(fd, 1 << 30)
          close(fd)
          chown(ssh + "/authorized_keys", 2001, 2001)
        }
      ),
    ]
    for (name, extra, reasons, prepare) in attacks {
      try? fm.removeItem(atPath: ssh)
      try prepare()
      let before = watchList
      let start = Date()
      let apply = try keyward(["apply", try manifest(extra, users: "[alice]"), "--auto-approve"])
      #expect(apply.status == 1, "\(name): \(apply.output)")
      #expect(reasons.contains { apply.output.contains($0) }, "\(name): \(apply.output)")
      #expect(watchList == before, "\(name)")
      print(
        "live local attack '\(name)': refused in \(String(format: "%.2f", Date().timeIntervalSince(start))) s"
      )
    }
    print("live local attacks tried: \(attacks.count)")
  }
}

/// What live local tests need; like the fleet, they run wherever they can and always in CI.
enum LiveLocal {
  static var missingPrerequisite: String? {
    guard geteuid() == 0 else { return "root" }
    for tool in ["/usr/bin/unshare", "/usr/bin/setpriv", "/usr/bin/timeout", "/usr/lib/openssh/sftp-server"]
    where !FileManager.default.isExecutableFile(atPath: tool) {
      return tool
    }
    return nil
  }

  static var enabled: Bool {
    missingPrerequisite == nil || ProcessInfo.processInfo.environment["CI"] == "true"
  }
}

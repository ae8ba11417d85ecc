#if canImport(Glibc)
  import Glibc
#endif

/// One account from a passwd database: the system's (NSS), `ROOT/etc/passwd`, or a host's
/// `getent passwd` output. The one reader of `passwd(5)` lines.
public struct PasswdEntry: Hashable, Sendable {
  public var name: String
  public var uid: UInt32
  public var gid: UInt32
  public var home: String
  /// The login shell (empty when unknown).
  public var shell: String

  public init(name: String, uid: UInt32, gid: UInt32, home: String, shell: String = "") {
    self.name = name
    self.uid = uid
    self.gid = gid
    self.home = home
    self.shell = shell
  }

  /// One `passwd(5)` line (`name:password:uid:gid:gecos:home:shell`), or nil when it is
  /// malformed or a comment (as NSS's files backend skips them).
  public init?(line: some StringProtocol) {
    let fields = line.split(separator: ":", omittingEmptySubsequences: false)
    guard fields.count >= 7, !fields[0].hasPrefix("#"), let uid = UInt32(fields[2]),
      let gid = UInt32(fields[3])
    else { return nil }
    self.init(name: String(fields[0]), uid: uid, gid: gid, home: String(fields[5]), shell: String(fields[6]))
  }

  /// Parses `passwd(5)` text; malformed lines are skipped. The first entry of a name wins, as in NSS.
  public static func parse(_ text: String) -> [String: PasswdEntry] {
    var entries: [String: PasswdEntry] = [:]
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      guard let entry = PasswdEntry(line: line), entries[entry.name] == nil else { continue }
      entries[entry.name] = entry
    }
    return entries
  }

  /// Looks a user up in the system's own database (NSS), as sshd would.
  public static func system(_ name: String) -> PasswdEntry? {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16_384)
    let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
    guard rc == 0, result != nil, let dir = entry.pw_dir else { return nil }
    return PasswdEntry(
      name: name, uid: entry.pw_uid, gid: entry.pw_gid, home: String(cString: dir),
      shell: entry.pw_shell.map { String(cString: $0) } ?? "")
  }

  /// The name of `uid` in the system's database, when it has one.
  public static func name(ofUID uid: UInt32) -> String? {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16_384)
    guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil,
      let name = entry.pw_name
    else { return nil }
    return String(cString: name)
  }
}

import Foundation
import KeywardCore
import SFTP

/// A temporary directory plus a real `/usr/lib/openssh/sftp-server` to talk to, started as
/// root or, through `setpriv`, as a uid with no account. Removed on deinit.
final class SFTPSandbox {
  static let serverPath = "/usr/lib/openssh/sftp-server"
  /// `nobody`/`nogroup`: an existing account that owns nothing here (sftp-server refuses to
  /// start for a uid with no passwd entry). Its files live only inside the sandbox.
  static let strangerID: UInt32 = 65534

  let path: String
  private var streams: [ProcessStream] = []

  init() throws {
    path = "/tmp/keyward-sftp-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    chmod(path, 0o755)
  }

  deinit {
    for stream in streams { stream.close() }
    try? FileManager.default.removeItem(atPath: path)
  }

  /// A session with an `sftp-server` running as root.
  func rootClient() throws -> SFTPClient {
    try client([Self.serverPath])
  }

  /// A session with an `sftp-server` running as `strangerID` with no supplementary groups.
  func strangerClient() throws -> SFTPClient {
    let id = Self.strangerID
    return try client([
      "/usr/bin/setpriv", "--reuid=\(id)", "--regid=\(id)", "--clear-groups", "--", Self.serverPath,
    ])
  }

  func client(_ arguments: [String]) throws -> SFTPClient {
    let stream = try ProcessStream(arguments: arguments, timeout: .seconds(20))
    streams.append(stream)
    do {
      return try SFTPClient(stream: stream)
    } catch {
      stream.close()
      throw SFTPError(error.kind, "\(error.message): \(stream.diagnostics)")
    }
  }

  /// A directory inside the sandbox owned by `owner` with `mode`.
  @discardableResult
  func directory(_ name: String, owner: UInt32 = 0, mode: mode_t = 0o755) throws -> String {
    let full = path + "/" + name
    try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
    chmod(full, mode)
    chown(full, owner, owner)
    return full
  }

  /// A file inside the sandbox with `bytes`, `owner` and `mode`.
  @discardableResult
  func file(_ name: String, _ bytes: [UInt8], owner: UInt32 = 0, mode: mode_t = 0o600) throws -> String {
    let full = path + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: full))
    chmod(full, mode)
    chown(full, owner, owner)
    return full
  }

  func symlink(_ name: String, to target: String) -> String {
    let full = path + "/" + name
    Foundation.symlink(target, full)
    return full
  }

  /// Content, owner and mode of a file, to prove it did not change.
  static func fingerprint(_ path: String) -> Fingerprint? {
    var info = stat()
    guard lstat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else { return nil }
    return Fingerprint(
      bytes: [UInt8](data), uid: info.st_uid, gid: info.st_gid, mode: UInt32(info.st_mode),
      inode: UInt64(info.st_ino))
  }

  struct Fingerprint: Equatable {
    var bytes: [UInt8]
    var uid: UInt32
    var gid: UInt32
    var mode: UInt32
    var inode: UInt64
  }

  static func bytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
  }
}

/// Deterministic pseudo-random bytes (SplitMix64), so a failure can be reproduced.
struct SeededBytes {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func bytes(_ count: Int) -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(count)
    while result.count < count {
      var value = next()
      for _ in 0..<min(8, count - result.count) {
        result.append(UInt8(truncatingIfNeeded: value))
        value >>= 8
      }
    }
    return result
  }
}

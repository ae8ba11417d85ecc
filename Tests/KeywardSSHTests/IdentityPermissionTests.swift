import Foundation
import Testing

@testable import KeywardSSH

/// Like OpenSSH's `sshkey_perm_ok`, a private key file others may read is not used.
@Suite("Identity file permissions")
struct IdentityPermissionTests {
  static let modes: [(mode: mode_t, refused: Bool)] = [
    (0o600, false), (0o400, false), (0o640, true), (0o644, true), (0o604, true), (0o660, true),
  ]

  @Test(arguments: modes.indices)
  func privateKeysReadableByOthersAreRefused(_ index: Int) throws {
    let (mode, refused) = Self.modes[index]
    let path = NSTemporaryDirectory() + "keyward-identity-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
    #expect(chmod(path, mode) == 0)
    let problem = IdentityLoader.unprotected(path)
    #expect((problem != nil) == refused, "mode \(String(mode, radix: 8))")
    if let problem { #expect(problem.contains("chmod 600")) }
  }
}

internal import CLibSSH2

/// Process-wide libssh2 initialisation. `libssh2_init` is not thread-safe: it runs once,
/// before any session, through a `static let` (swift_once).
enum LibSSH2 {
  static let initialized: Bool = libssh2_init(0) == 0

  /// Host key algorithms libssh2 1.10 can verify, best first (RSA host keys need rsa-sha2).
  static let usableHostKeyTypes = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  ]
}

internal import CLibSSH2

/// Process-wide libssh2 initialisation. `libssh2_init` is not thread-safe: it runs once,
/// before any session, through a `static let` (swift_once).
enum LibSSH2 {
  static let initialized: Bool = libssh2_init(0) == 0

  /// The libssh2 version this binary runs with.
  static var version: String {
    guard let text = libssh2_version(0) else { return "unknown" }
    return String(cString: text)
  }
}

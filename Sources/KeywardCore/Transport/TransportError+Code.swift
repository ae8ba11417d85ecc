extension TransportError {
  /// What kind of failure it was. Raw values are the stable codes messages, run records and
  /// JSON show (`host-key-changed`); scripts match on them.
  public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    // Reaching and logging in to the host.
    case unreachable
    case connectTimeout = "connect-timeout"
    case sshConfig = "ssh-config"
    case sshConfigUnsupported = "ssh-config-unsupported"
    case proxyFailed = "proxy-failed"
    case jumpFailed = "jump-failed"
    case hostKeyChanged = "host-key-changed"
    case hostKeyUnknown = "host-key-unknown"
    case hostKeyRevoked = "host-key-revoked"
    case deadlineExceeded = "deadline-exceeded"
    case sessionLost = "session-lost"
    case channelFailed = "channel-failed"
    case execFailed = "exec-failed"
    case sftpFailed = "sftp-failed"
    case connectionLost = "connection-lost"
    case timedOut = "timed-out"
    // Accounts and acting as the target user.
    case getentFailed = "getent-failed"
    case userUnknown = "user-unknown"
    case noSuchUser = "no-such-user"
    case cannotActAsUser = "cannot-act-as-user"
    case notPermitted = "not-permitted"
    case privilegeDropUnavailable = "privilege-drop-unavailable"
    case privilegeDropFailed = "privilege-drop-failed"
    case rootUnusable = "root-unusable"
    case passwdUnreadable = "passwd-unreadable"
    // One target's files.
    case notFound = "not-found"
    case permissionDenied = "permission-denied"
    case symlinkRefused = "symlink-refused"
    case symlinkDangling = "symlink-dangling"
    case escapesRoot = "escapes-root"
    case invalidPath = "invalid-path"
    case notADirectory = "not-a-directory"
    case notAFile = "not-a-file"
    case noHome = "no-home"
    case tooLarge = "too-large"
    case ownershipRefused = "ownership-refused"
    case modeRefused = "mode-refused"
    case locked
    case stale
    case loginCheckFailed = "login-check-failed"
    // Refused before any I/O.
    case pathRefused = "path-refused"
    case planRefused = "plan-refused"
    case notFetched = "not-fetched"
    // A step's failure with no code of its own (`Step.failureCode`).
    case connectFailed = "connect-failed"
    case handshakeFailed = "handshake-failed"
    case hostkeyFailed = "hostkey-failed"
    case authFailed = "auth-failed"
    case passwdFailed = "passwd-failed"
    case openFailed = "open-failed"
    case readFailed = "read-failed"
    case sshdModelFailed = "sshd-model-failed"
    case preflightFailed = "preflight-failed"
    case lockFailed = "lock-failed"
    case mkdirFailed = "mkdir-failed"
    case listFailed = "list-failed"
    case backupFailed = "backup-failed"
    case compareFailed = "compare-failed"
    case tempFailed = "temp-failed"
    case writeFailed = "write-failed"
    case chmodFailed = "chmod-failed"
    case fsyncFailed = "fsync-failed"
    case renameFailed = "rename-failed"
    case verifyFailed = "verify-failed"
    case rollbackFailed = "rollback-failed"
    case planFailed = "plan-failed"

    public var description: String { rawValue }

    /// True when the failure concerns one target only, so the session to its host stays
    /// usable for the host's other targets; false when the connection itself is in doubt.
    public var keepsSession: Bool {
      switch self {
      case .symlinkRefused, .userUnknown, .notAFile, .invalidPath, .verifyFailed, .locked, .ownershipRefused,
        .cannotActAsUser, .permissionDenied, .notADirectory, .noHome, .tooLarge, .symlinkDangling,
        .modeRefused, .loginCheckFailed:
        true
      case .unreachable, .connectTimeout, .sshConfig, .sshConfigUnsupported, .proxyFailed, .jumpFailed,
        .hostKeyChanged, .hostKeyUnknown, .hostKeyRevoked, .deadlineExceeded, .sessionLost, .channelFailed,
        .execFailed, .sftpFailed, .connectionLost, .timedOut, .getentFailed, .noSuchUser, .notPermitted,
        .privilegeDropUnavailable, .privilegeDropFailed, .rootUnusable, .passwdUnreadable, .notFound,
        .escapesRoot, .stale, .pathRefused, .planRefused, .notFetched, .connectFailed, .handshakeFailed,
        .hostkeyFailed, .authFailed, .passwdFailed, .openFailed, .readFailed, .sshdModelFailed,
        .preflightFailed, .lockFailed, .mkdirFailed, .listFailed, .backupFailed, .compareFailed, .tempFailed,
        .writeFailed, .chmodFailed, .fsyncFailed, .renameFailed, .rollbackFailed, .planFailed:
        false
      }
    }
  }
}

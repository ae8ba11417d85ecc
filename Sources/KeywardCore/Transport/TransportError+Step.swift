extension TransportError {
  /// The step of a target's run that failed. Raw values are what messages, run records and
  /// JSON show (`connect`, `hostkey`, `sshd-model`).
  public enum Step: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    // Reaching the host.
    case connect
    case handshake
    case hostkey
    case auth
    case passwd
    case open
    // Reading a target.
    case read
    case sshdModel = "sshd-model"
    // The write sequence (`SafeReplace`), in order.
    case preflight
    case lock
    case mkdir
    case list
    case backup
    case compare
    case temp
    case write
    case chmod
    case fsync
    case rename
    case verify
    case rollback
    // Before any I/O: the plan refused the target.
    case plan

    public var description: String { rawValue }

    /// The code of a failure of this step that has no code of its own (`mkdir-failed`).
    public var failureCode: Code {
      switch self {
      case .connect: .connectFailed
      case .handshake: .handshakeFailed
      case .hostkey: .hostkeyFailed
      case .auth: .authFailed
      case .passwd: .passwdFailed
      case .open: .openFailed
      case .read: .readFailed
      case .sshdModel: .sshdModelFailed
      case .preflight: .preflightFailed
      case .lock: .lockFailed
      case .mkdir: .mkdirFailed
      case .list: .listFailed
      case .backup: .backupFailed
      case .compare: .compareFailed
      case .temp: .tempFailed
      case .write: .writeFailed
      case .chmod: .chmodFailed
      case .fsync: .fsyncFailed
      case .rename: .renameFailed
      case .verify: .verifyFailed
      case .rollback: .rollbackFailed
      case .plan: .planFailed
      }
    }
  }
}

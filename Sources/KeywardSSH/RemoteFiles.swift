import Foundation
import KeywardCore
import SFTP

/// One user's files on one host, reached through an SFTP session that runs with that user's
/// own rights: an `sftp-server` started under `setpriv` as the user (when logged in as root),
/// or the `sftp` subsystem (when logged in as the user). Whatever a path or a planted symlink
/// points at, the kernel checks every operation against the user, never against root.
///
/// `primitives` is the session as `FilePrimitives`, for the core's `TargetReader` and
/// `SafeReplace`; the few direct calls here find the login user's own home.
final class RemoteFiles {
  let host: String
  /// The user whose rights the session has.
  let user: String
  let client: SFTPClient
  let primitives: SFTPFilePrimitives
  private let stream: SSHChannelStream

  /// Starts SFTP over `stream`; when the handshake fails, says what the helper wrote on stderr.
  init(host: String, user: String, stream: SSHChannelStream) throws(TransportError) {
    self.host = host
    self.user = user
    self.stream = stream
    do {
      client = try SFTPClient(stream: stream)
    } catch {
      stream.close()
      let stderr = stream.diagnostics
      throw TransportError(
        code: .sftpFailed, host: host, step: .connect,
        message:
          "could not start sftp as '\(user)': \(error.message)" + (stderr.isEmpty ? "" : " (\(stderr))"))
    }
    primitives = SFTPFilePrimitives(client: client)
  }

  func close() { client.close() }

  /// True while the session answers (one round trip).
  func isAlive() -> Bool { (try? client.realpath(".")) != nil }

  // MARK: operations

  /// `lstat` (or `stat` when `follow`); nil when the path does not exist.
  func attributes(_ path: String, follow: Bool, step: TransportError.Step) throws(TransportError)
    -> RemoteAttributes?
  {
    do {
      let attributes = follow ? try client.stat(path) : try client.lstat(path)
      return RemoteAttributes(uid: attributes.uid ?? UInt32.max, gid: attributes.gid ?? UInt32.max)
    } catch  where error.status == .noSuchFile {
      return nil
    } catch {
      throw failure(error, .sftpFailed, step, "could not stat '\(path)'")
    }
  }

  /// A regular file's bytes (16 MiB at most, checked before opening so a FIFO never blocks the
  /// server); nil when it is missing, not a regular file, too large or unreadable.
  func readRegularFile(_ path: String) -> [UInt8]? {
    guard let status = try? client.stat(path), status.fileType == .regular,
      (status.size ?? 0) <= AccessPolicy.defaultSizeLimit
    else { return nil }
    return try? client.readFile(path, limit: Int(AccessPolicy.defaultSizeLimit))
  }

  /// The canonical path (`.` is the session's working directory).
  func realpath(_ path: String, step: TransportError.Step) throws(TransportError) -> String {
    do {
      return try client.realpath(path)
    } catch {
      throw failure(error, .sftpFailed, step, "could not resolve '\(path)'")
    }
  }

  // MARK: errors

  /// A `TransportError` that says what failed, as whom, and why; permission errors say that
  /// keyward acts with the user's own rights (the reason a planted symlink gets nowhere).
  private func failure(
    _ error: SFTPError, _ code: TransportError.Code, _ step: TransportError.Step, _ what: String
  ) -> TransportError {
    let reason: String
    switch error.kind {
    case .status(.permissionDenied):
      reason =
        "permission denied for '\(user)' (sftp status 3); keyward acts with the user's own rights, so this"
        + " path leads somewhere '\(user)' may not go (a symlink to another user's file?)"
    case .status(.noSuchFile): reason = "no such file (sftp status 2)"
    case .status(.failure): reason = "the server reported a failure (sftp status 4)"
    case .status(.operationUnsupported): reason = "operation not supported (sftp status 8)"
    case .status(let status): reason = "sftp status \(status.rawValue)"
    case .malformed, .stream, .timedOut, .tooLarge, .unsupported: reason = error.message
    }
    let kind: TransportError.Code = error.status == .permissionDenied ? .permissionDenied : code
    return TransportError(code: kind, host: host, step: step, message: "\(what): \(reason)")
  }
}

/// Who owns a remote path, as `lstat`/`stat` says.
struct RemoteAttributes {
  var uid: UInt32
  var gid: UInt32
}

internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// Process-wide libssh2 initialisation. `libssh2_init` is not thread-safe: it runs once,
/// before any session, through a `static let` (swift_once).
enum LibSSH2 {
  static let initialized: Bool = libssh2_init(0) == 0

  /// The libssh2 version this binary runs with.
  static var version: String {
    guard let text = libssh2_version(0) else { return "unknown" }
    return String(cString: text)
  }

  /// Host key algorithms libssh2 1.10 can verify, best first (RSA host keys need rsa-sha2).
  static let usableHostKeyTypes = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  ]
}

/// What `lstat`/`stat` says about a remote path.
struct RemoteAttributes {
  var permissions: UInt32
  var uid: UInt32
  var gid: UInt32
  var size: UInt64
  /// Modification time (seconds since the epoch, the server's clock).
  var modified: UInt64 = 0

  var pathStatus: PathStatus {
    let type = permissions & 0o170000
    return PathStatus(
      isSymlink: type == 0o120000, isDirectory: type == 0o040000, isRegularFile: type == 0o100000,
      mode: permissions & 0o7777, uid: uid, gid: gid)
  }
}

/// The result of a command run over an exec channel.
struct ExecResult {
  var status: Int32
  var signal: String?
  var stdout: [UInt8]
  var stderr: [UInt8]
}

/// How one identity file's authentication attempt came out.
enum FileAuthResult {
  case accepted
  /// The key could not be loaded (wrong or missing passphrase, unknown format).
  case unreadable(String)
  /// The server refused the key.
  case rejected(String)
  /// The connection failed meanwhile.
  case failed(String)
}

/// One libssh2 session with its SFTP subsystem and the raw posix-rename channel.
///
/// Owns every libssh2 pointer of one connection. Used by one thread at a time: the worker that
/// created it, or (for a jump host) the tunnel pump that took it over. `@unchecked Sendable`
/// only so it can be handed from one thread to the next; never shared concurrently.
final class SSHSession: @unchecked Sendable {
  /// The host as the manifest names it, for messages.
  let host: String
  /// The socket under the session (a TCP socket or one end of a tunnel's socketpair).
  let fd: Int32
  private var raw: OpaquePointer?
  private var sftpHandle: OpaquePointer?
  private var renameChannel: OpaquePointer?
  private var renameRequestID: UInt32 = 1
  private var renameSupported: Bool?
  /// The SFTP extensions the server announced on the raw channel.
  private var extensions: Set<String> = []
  /// The tunnel or ProxyCommand this session runs through, kept alive until the session closes.
  var tunnel: (any SessionCarrier)?

  init(host: String, fd: Int32, operationTimeout: Duration) throws(TransportError) {
    precondition(LibSSH2.initialized, "libssh2_init failed")
    self.host = host
    self.fd = fd
    guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
      Glibc.close(fd)
      throw TransportError(
        code: "handshake-failed", host: host, step: "handshake",
        message: "libssh2 could not allocate a session")
    }
    raw = session
    libssh2_session_set_blocking(session, 1)
    libssh2_session_set_timeout(session, Int(operationTimeout.milliseconds))
  }

  deinit { close() }

  /// Disconnects and frees everything; closes the socket. Safe to call twice.
  func close() {
    if let channel = renameChannel {
      libssh2_channel_close(channel)
      libssh2_channel_free(channel)
      renameChannel = nil
    }
    if let sftp = sftpHandle {
      libssh2_sftp_shutdown(sftp)
      sftpHandle = nil
    }
    if let session = raw {
      libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "bye", "")
      libssh2_session_free(session)
      raw = nil
      Glibc.close(fd)
    }
    if let tunnel {
      tunnel.finish()
      self.tunnel = nil
    }
  }

  /// Shuts the socket down from another thread (the watchdog): every blocked call returns.
  static func abort(fd: Int32) {
    Glibc.shutdown(fd, Int32(SHUT_RDWR))
  }

  private var session: OpaquePointer {
    guard let raw else { preconditionFailure("session used after close") }
    return raw
  }

  /// `libssh2_session_last_error` as `code: text`.
  func lastError() -> (code: Int32, text: String) {
    guard let raw else { return (0, "session closed") }
    var message: UnsafeMutablePointer<CChar>?
    var length: Int32 = 0
    let code = libssh2_session_last_error(raw, &message, &length, 0)
    let text = message.map { String(cString: $0) } ?? "unknown error"
    return (code, text)
  }

  func error(_ code: String, _ step: String, _ what: String) -> TransportError {
    let last = lastError()
    return TransportError(
      code: code, host: host, step: step, message: "\(what): \(last.text) (libssh2 \(last.code))")
  }

  // MARK: handshake and host key

  /// Sets the host key preference and runs the SSH handshake on the socket.
  func handshake(hostKeyPreference: [String]) throws(TransportError) {
    let preference = (hostKeyPreference.isEmpty ? LibSSH2.usableHostKeyTypes : hostKeyPreference)
      .joined(separator: ",")
    if libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preference) != 0 {
      throw error("handshake-failed", "handshake", "host key preference '\(preference)' was refused")
    }
    if libssh2_session_handshake(session, fd) != 0 {
      let last = lastError()
      var message = "ssh handshake failed: \(last.text) (libssh2 \(last.code))"
      if last.code == LIBSSH2_ERROR_KEX_FAILURE || last.code == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED {
        message +=
          "; the server may offer only RSA host keys, which libssh2 1.10 cannot verify (needs rsa-sha2):"
          + " give the host an ed25519 or ecdsa host key"
      }
      throw TransportError(code: "handshake-failed", host: host, step: "handshake", message: message)
    }
  }

  /// The negotiated host key: its OpenSSH type name, wire blob and SHA256 fingerprint.
  func hostKey() throws(TransportError) -> (type: String, blob: [UInt8]) {
    var length = 0
    var type: Int32 = 0
    guard let pointer = libssh2_session_hostkey(session, &length, &type) else {
      throw error("handshake-failed", "hostkey", "the server sent no host key")
    }
    let blob = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
      Array(UnsafeBufferPointer(start: $0, count: length))
    }
    let names: [Int32: String] = [
      LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa", LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521", LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519",
    ]
    return (names[type] ?? "unknown", blob)
  }

  // MARK: authentication

  /// The authentication methods the server offers for `user`; `nil` when "none" auth succeeded.
  func authMethods(user: String) -> String? {
    guard let list = libssh2_userauth_list(session, user, UInt32(user.utf8.count)) else { return nil }
    return String(cString: list)
  }

  var isAuthenticated: Bool { libssh2_userauth_authenticated(session) == 1 }

  /// Tries the agent's identities: those whose blob is in `preferred` first, then (unless
  /// `onlyPreferred`) the others, at most `limit` in all (sshd's MaxAuthTries cuts the session
  /// after 6 failures). Returns the blob that authenticated, or nil.
  func authenticateWithAgent(
    user: String, socket: String, preferred: [[UInt8]], onlyPreferred: Bool, limit: Int
  ) -> [UInt8]? {
    guard let agent = libssh2_agent_init(session) else { return nil }
    defer { libssh2_agent_free(agent) }
    libssh2_agent_set_identity_path(agent, socket)
    guard libssh2_agent_connect(agent) == 0 else { return nil }
    defer { libssh2_agent_disconnect(agent) }
    guard libssh2_agent_list_identities(agent) == 0 else { return nil }
    var identities: [(UnsafeMutablePointer<libssh2_agent_publickey>, [UInt8])] = []
    var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
    while true {
      var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
      guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { break }
      previous = identity
      identities.append(
        (identity, Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len)))
      )
    }
    let first = identities.filter { preferred.contains($0.1) }
    let rest = onlyPreferred ? [] : identities.filter { !preferred.contains($0.1) }
    for (identity, blob) in (first + rest).prefix(limit)
    where libssh2_agent_userauth(agent, user, identity) == 0 {
      return blob
    }
    return nil
  }

  /// Tries one private key file.
  func authenticateWithFile(user: String, path: String, passphrase: String?) -> FileAuthResult {
    let rc = libssh2_userauth_publickey_fromfile_ex(
      session, user, UInt32(user.utf8.count), nil, path, passphrase)
    if rc == 0 { return .accepted }
    let text = lastError().text
    if rc == LIBSSH2_ERROR_FILE { return .unreadable(text) }
    if rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED {
      return .rejected(text)
    }
    return .failed("\(text) (libssh2 \(rc))")
  }

  // MARK: exec

  /// Runs `command` over an exec channel, stdout and stderr read without deadlock.
  func exec(_ command: String, step: String) throws(TransportError) -> ExecResult {
    guard let channel = libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0) else {
      throw error("exec-failed", step, "could not open an exec channel")
    }
    defer { libssh2_channel_free(channel) }
    if libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count)) != 0 {
      throw error("exec-failed", step, "could not run '\(command)'")
    }
    var out: [UInt8] = []
    var err: [UInt8] = []
    var buffer = [CChar](repeating: 0, count: 32768)
    // Small outputs only (getent): read stdout fully, then stderr. Output beyond the window
    // would need interleaving; getent prints a few lines.
    for (stream, sink) in [(Int32(0), 0), (SSH_EXTENDED_DATA_STDERR, 1)] {
      while true {
        let n = buffer.withUnsafeMutableBufferPointer {
          libssh2_channel_read_ex(channel, stream, $0.baseAddress, $0.count)
        }
        if n == 0 { break }
        if n < 0 { throw error("exec-failed", step, "reading the output of '\(command)' failed") }
        let bytes = buffer[0..<n].map { UInt8(bitPattern: $0) }
        if sink == 0 { out += bytes } else { err += bytes }
      }
    }
    libssh2_channel_close(channel)
    libssh2_channel_wait_closed(channel)
    let status = libssh2_channel_get_exit_status(channel)
    var signalName: UnsafeMutablePointer<CChar>?
    var signalLength = 0
    libssh2_channel_get_exit_signal(channel, &signalName, &signalLength, nil, nil, nil, nil)
    var signal: String?
    if let signalName {
      signal = String(cString: signalName)
      free(signalName)
    }
    return ExecResult(status: status, signal: signal, stdout: out, stderr: err)
  }

  // MARK: SFTP

  private func sftp(step: String) throws(TransportError) -> OpaquePointer {
    if let sftpHandle { return sftpHandle }
    guard let handle = libssh2_sftp_init(session) else {
      throw error(
        "sftp-failed", step,
        "could not start the sftp subsystem (is 'Subsystem sftp' enabled in sshd_config?)")
    }
    sftpHandle = handle
    return handle
  }

  private func sftpStatus() -> UInt {
    guard let sftpHandle else { return 0 }
    return libssh2_sftp_last_error(sftpHandle)
  }

  private func sftpError(_ code: String, _ step: String, _ what: String) -> TransportError {
    let last = lastError()
    if last.code == LIBSSH2_ERROR_SFTP_PROTOCOL {
      let status = sftpStatus()
      return TransportError(
        code: code, host: host, step: step, message: "\(what): \(Self.describe(sftpStatus: status))")
    }
    return TransportError(
      code: code, host: host, step: step, message: "\(what): \(last.text) (libssh2 \(last.code))")
  }

  static func describe(sftpStatus status: UInt) -> String {
    switch status {
    case UInt(LIBSSH2_FX_NO_SUCH_FILE): return "no such file (sftp status 2)"
    case UInt(LIBSSH2_FX_PERMISSION_DENIED): return "permission denied (sftp status 3)"
    case UInt(LIBSSH2_FX_FAILURE): return "the server reported a failure (sftp status 4)"
    case UInt(LIBSSH2_FX_OP_UNSUPPORTED): return "operation not supported (sftp status 8)"
    case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): return "no space left on the file system (sftp status 14)"
    default: return "sftp status \(status)"
    }
  }

  private func isMissing() -> Bool {
    let last = lastError()
    guard last.code == LIBSSH2_ERROR_SFTP_PROTOCOL else { return false }
    let status = sftpStatus()
    return status == UInt(LIBSSH2_FX_NO_SUCH_FILE) || status == UInt(LIBSSH2_FX_NO_SUCH_PATH)
  }

  /// `lstat` (or `stat` when `follow`); nil when the path does not exist.
  func attributes(_ path: String, follow: Bool, step: String) throws(TransportError) -> RemoteAttributes? {
    let sftp = try sftp(step: step)
    var attrs = LIBSSH2_SFTP_ATTRIBUTES()
    let kind = follow ? LIBSSH2_SFTP_STAT : LIBSSH2_SFTP_LSTAT
    if libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), kind, &attrs) != 0 {
      if isMissing() { return nil }
      throw sftpError("sftp-failed", step, "could not stat '\(path)'")
    }
    return RemoteAttributes(
      permissions: UInt32(truncatingIfNeeded: attrs.permissions), uid: UInt32(truncatingIfNeeded: attrs.uid),
      gid: UInt32(truncatingIfNeeded: attrs.gid), size: attrs.filesize, modified: UInt64(attrs.mtime))
  }

  /// The entry names of a directory (without `.` and `..`).
  func listDirectory(_ path: String, step: String) throws(TransportError) -> [String] {
    let sftp = try sftp(step: step)
    guard
      let handle = libssh2_sftp_open_ex(
        sftp, path, UInt32(path.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR)
    else { throw sftpError("sftp-failed", step, "could not list '\(path)'") }
    defer { libssh2_sftp_close_handle(handle) }
    var names: [String] = []
    var buffer = [CChar](repeating: 0, count: 4096)
    var attrs = LIBSSH2_SFTP_ATTRIBUTES()
    while true {
      let n = buffer.withUnsafeMutableBufferPointer {
        libssh2_sftp_readdir_ex(handle, $0.baseAddress, $0.count, nil, 0, &attrs)
      }
      if n == 0 { break }
      if n < 0 { throw sftpError("sftp-failed", step, "could not list '\(path)'") }
      let name = String(decoding: buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  /// SFTP realpath: `.` is the login user's home directory.
  func realpath(_ path: String, step: String) throws(TransportError) -> String {
    let sftp = try sftp(step: step)
    var buffer = [CChar](repeating: 0, count: 4097)
    let n = buffer.withUnsafeMutableBufferPointer {
      libssh2_sftp_symlink_ex(
        sftp, path, UInt32(path.utf8.count), $0.baseAddress, UInt32($0.count - 1), LIBSSH2_SFTP_REALPATH)
    }
    guard n > 0 else { throw sftpError("sftp-failed", step, "could not resolve '\(path)'") }
    return String(decoding: buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Reads a whole file; nil when it does not exist.
  func read(_ path: String, step: String) throws(TransportError) -> [UInt8]? {
    let sftp = try sftp(step: step)
    guard
      let handle = libssh2_sftp_open_ex(
        sftp, path, UInt32(path.utf8.count), UInt(LIBSSH2_FXF_READ), 0, LIBSSH2_SFTP_OPENFILE)
    else {
      if isMissing() { return nil }
      throw sftpError("read-failed", step, "could not open '\(path)'")
    }
    defer { libssh2_sftp_close_handle(handle) }
    var content: [UInt8] = []
    var buffer = [CChar](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBufferPointer { libssh2_sftp_read(handle, $0.baseAddress, $0.count) }
      if n == 0 { break }
      if n < 0 { throw sftpError("read-failed", step, "could not read '\(path)'") }
      content += buffer[0..<n].map { UInt8(bitPattern: $0) }
      if content.count > 16 * 1024 * 1024 {
        throw TransportError(
          code: "read-failed", host: host, step: step, message: "'\(path)' is larger than 16 MiB")
      }
    }
    return content
  }

  /// Creates a directory and sets its mode (and owner) explicitly, whatever the server's umask.
  func makeDirectory(_ path: String, mode: UInt32, owner: (uid: UInt32, gid: UInt32)?) throws(TransportError)
  {
    let sftp = try sftp(step: "write")
    if libssh2_sftp_mkdir_ex(sftp, path, UInt32(path.utf8.count), Int(mode)) != 0 {
      throw sftpError("write-failed", "write", "could not create the directory '\(path)'")
    }
    try setAttributes(path, mode: mode, owner: owner)
  }

  /// SFTP attributes holding permission bits and, when given, owner.
  private static func attributes(mode: UInt32, owner: (uid: UInt32, gid: UInt32)?) -> LIBSSH2_SFTP_ATTRIBUTES
  {
    var attrs = LIBSSH2_SFTP_ATTRIBUTES()
    attrs.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
    attrs.permissions = UInt(mode)
    if let owner {
      attrs.flags |= UInt(LIBSSH2_SFTP_ATTR_UIDGID)
      attrs.uid = UInt(owner.uid)
      attrs.gid = UInt(owner.gid)
    }
    return attrs
  }

  /// setstat: permission bits and, when given, owner.
  func setAttributes(_ path: String, mode: UInt32, owner: (uid: UInt32, gid: UInt32)?) throws(TransportError)
  {
    let sftp = try sftp(step: "write")
    var attrs = Self.attributes(mode: mode, owner: owner)
    if libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_SETSTAT, &attrs) != 0 {
      throw sftpError("write-failed", "write", "could not set the mode or owner of '\(path)'")
    }
  }

  /// Creates `path` exclusively (it must not exist), writes `content`, sets mode and owner on the
  /// open handle, fsyncs and closes it.
  func createExclusive(
    _ path: String, content: [UInt8], mode: UInt32, owner: (uid: UInt32, gid: UInt32)?,
    progress: ((Int) -> Void)? = nil
  ) throws(TransportError) {
    let sftp = try sftp(step: "write")
    let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL)
    guard
      let handle = libssh2_sftp_open_ex(
        sftp, path, UInt32(path.utf8.count), flags, 0o600, LIBSSH2_SFTP_OPENFILE)
    else {
      throw sftpError("write-failed", "write", "could not create the temporary file '\(path)'")
    }
    var closed = false
    var complete = false
    defer {
      if !closed { libssh2_sftp_close_handle(handle) }
      // The file was created exclusively, so it is ours: never leave a partial one behind.
      if !complete { unlink(path) }
    }
    var offset = 0
    while offset < content.count {
      let n = content.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { chars in
          libssh2_sftp_write(handle, chars.baseAddress! + offset, chars.count - offset)
        }
      }
      if n < 0 { throw sftpError("write-failed", "write", "could not write '\(path)'") }
      offset += n
      progress?(offset)
    }
    var attrs = Self.attributes(mode: mode, owner: owner)
    if libssh2_sftp_fstat_ex(handle, &attrs, 1) != 0 {
      throw sftpError("write-failed", "write", "could not set the mode or owner of '\(path)'")
    }
    if libssh2_sftp_fsync(handle) != 0 {
      throw sftpError("write-failed", "write", "fsync of '\(path)' failed")
    }
    closed = true
    if libssh2_sftp_close_handle(handle) != 0 {
      throw sftpError("write-failed", "write", "closing '\(path)' failed")
    }
    complete = true
  }

  /// Removes a file; a missing file is not an error.
  func unlink(_ path: String) {
    guard let sftp = try? sftp(step: "write") else { return }
    _ = libssh2_sftp_unlink_ex(sftp, path, UInt32(path.utf8.count))
  }

  /// Plain SFTP rename (v3: fails when `to` exists).
  func plainRename(_ from: String, _ to: String) throws(TransportError) {
    let sftp = try sftp(step: "rename")
    if libssh2_sftp_rename_ex(sftp, from, UInt32(from.utf8.count), to, UInt32(to.utf8.count), 0) != 0 {
      throw sftpError("rename-failed", "rename", "could not rename '\(from)' to '\(to)'")
    }
  }

  // MARK: posix-rename@openssh.com on a raw second channel

  /// Atomically replaces `to` with `from` (rename(2) on the server). Returns false when the
  /// server does not offer posix-rename@openssh.com.
  func posixRename(_ from: String, _ to: String) throws(TransportError) -> Bool {
    try extendedRequest("posix-rename@openssh.com", from, to, what: "posix-rename")
  }

  /// Makes `to` a hard link of `from` (link(2) on the server). Returns false when the server
  /// does not offer hardlink@openssh.com.
  func hardLink(_ from: String, _ to: String) throws(TransportError) -> Bool {
    try extendedRequest("hardlink@openssh.com", from, to, what: "hardlink")
  }

  /// Sends an OpenSSH SFTP extension request with two paths on the raw channel; false when the
  /// server does not offer the extension.
  private func extendedRequest(_ name: String, _ from: String, _ to: String, what: String)
    throws(TransportError) -> Bool
  {
    guard let channel = try renameChannelOpen(), extensions.contains(name) else { return false }
    let id = renameRequestID
    renameRequestID &+= 1
    var body: [UInt8] = [200]
    body.appendUInt32(id)
    body.appendString(Array(name.utf8))
    body.appendString(Array(from.utf8))
    body.appendString(Array(to.utf8))
    try sendPacket(channel, body)
    let reply = try readPacket(channel)
    var reader = WireReader(reply)
    guard reader.byte() == 101, reader.uint32() == id, let status = reader.uint32() else {
      throw TransportError(
        code: "rename-failed", host: host, step: "rename",
        message: "unexpected reply to \(what) of '\(to)'")
    }
    if status != 0 {
      let message = reader.string().map { String(decoding: $0, as: UTF8.self) } ?? ""
      throw TransportError(
        code: "rename-failed", host: host, step: "rename",
        message:
          "\(what) of '\(from)' to '\(to)' failed: \(Self.describe(sftpStatus: UInt(status))) \(message)"
      )
    }
    return true
  }

  private func renameChannelOpen() throws(TransportError) -> OpaquePointer? {
    if renameSupported == false { return nil }
    if let renameChannel { return renameChannel }
    guard let channel = libssh2_channel_open_ex(session, "session", 7, 256 * 1024, 32768, nil, 0) else {
      throw error("rename-failed", "rename", "could not open a second channel for posix-rename")
    }
    if libssh2_channel_process_startup(channel, "subsystem", 9, "sftp", 4) != 0 {
      libssh2_channel_free(channel)
      throw error("rename-failed", "rename", "could not start a second sftp subsystem")
    }
    var initPacket: [UInt8] = [1]
    initPacket.appendUInt32(3)
    do throws(TransportError) {
      try sendPacket(channel, initPacket)
      let version = try readPacket(channel)
      var reader = WireReader(version)
      guard reader.byte() == 2, reader.uint32() != nil else {
        throw TransportError(
          code: "rename-failed", host: host, step: "rename", message: "bad sftp version reply")
      }
      var supported = false
      while let name = reader.string(), reader.string() != nil {
        if name == Array("posix-rename@openssh.com".utf8) { supported = true }
        extensions.insert(String(decoding: name, as: UTF8.self))
      }
      renameSupported = supported
      guard supported else {
        libssh2_channel_close(channel)
        libssh2_channel_free(channel)
        return nil
      }
    } catch {
      libssh2_channel_free(channel)
      throw error
    }
    renameChannel = channel
    return channel
  }

  private func sendPacket(_ channel: OpaquePointer, _ body: [UInt8]) throws(TransportError) {
    var packet: [UInt8] = []
    packet.appendUInt32(UInt32(body.count))
    packet += body
    var offset = 0
    while offset < packet.count {
      let n = packet.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { chars in
          libssh2_channel_write_ex(channel, 0, chars.baseAddress! + offset, chars.count - offset)
        }
      }
      if n < 0 { throw error("rename-failed", "rename", "writing to the rename channel failed") }
      offset += n
    }
  }

  private func readExactly(_ channel: OpaquePointer, _ count: Int) throws(TransportError) -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [CChar](repeating: 0, count: max(count, 1))
    while result.count < count {
      let want = count - result.count
      let n = buffer.withUnsafeMutableBufferPointer {
        libssh2_channel_read_ex(channel, 0, $0.baseAddress, want)
      }
      if n <= 0 { throw error("rename-failed", "rename", "reading from the rename channel failed") }
      result += buffer[0..<n].map { UInt8(bitPattern: $0) }
    }
    return result
  }

  private func readPacket(_ channel: OpaquePointer) throws(TransportError) -> [UInt8] {
    let header = try readExactly(channel, 4)
    var reader = WireReader(header)
    guard let length = reader.uint32(), length < 1 << 20 else {
      throw TransportError(
        code: "rename-failed", host: host, step: "rename", message: "bad sftp packet length")
    }
    return try readExactly(channel, Int(length))
  }

  // MARK: tunnels

  /// Opens a direct-tcpip channel to `target:port` and hands this session to a pump thread that
  /// relays it to a socketpair. Returns the tunnel; its `localFD` carries the inner session.
  /// From this call on, only the pump thread uses this session.
  func openTunnel(to target: String, port: Int) throws(TransportError) -> JumpTunnel {
    guard let channel = libssh2_channel_direct_tcpip_ex(session, target, Int32(port), "127.0.0.1", 22) else {
      throw error(
        "jump-failed", "connect",
        "jump host refused to forward to '\(target):\(port)' (AllowTcpForwarding on the jump host?)")
    }
    var pair: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
      libssh2_channel_free(channel)
      throw TransportError(
        code: "jump-failed", host: host, step: "connect", message: "socketpair failed: errno \(errno)")
    }
    let tunnel = JumpTunnel(outer: self, channel: ChannelBox(channel), localFD: pair[0], pumpFD: pair[1])
    tunnel.start()
    return tunnel
  }

  /// The pump loop: relays bytes between the channel and `pumpFD` until either side ends or
  /// `stop` is set. Runs on the tunnel's own thread, which owns this session meanwhile.
  func pump(channel box: ChannelBox, pumpFD: Int32, isStopped: () -> Bool) {
    let channel = box.pointer
    libssh2_session_set_blocking(session, 0)
    var toChannel: [UInt8] = []
    var toSocket: [UInt8] = []
    var localEOF = false
    var buffer = [UInt8](repeating: 0, count: 32768)
    loop: while !isStopped() {
      var progress = false
      if !localEOF && toChannel.count < 65536 {
        let n = buffer.withUnsafeMutableBytes { recv(pumpFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 {
          toChannel += buffer[0..<n]
          progress = true
        } else if n == 0 {
          localEOF = true
        } else if errno != EAGAIN && errno != EWOULDBLOCK {
          break loop
        }
      }
      if !toChannel.isEmpty {
        let n = toChannel.withUnsafeBufferPointer { bytes in
          bytes.withMemoryRebound(to: CChar.self) {
            libssh2_channel_write_ex(channel, 0, $0.baseAddress, $0.count)
          }
        }
        if n > 0 {
          toChannel.removeFirst(n)
          progress = true
        } else if n != LIBSSH2_ERROR_EAGAIN {
          break loop
        }
      } else if localEOF {
        _ = libssh2_channel_send_eof(channel)
        break loop
      }
      if toSocket.count < 65536 {
        let n = buffer.withUnsafeMutableBytes { raw in
          raw.withMemoryRebound(to: CChar.self) {
            libssh2_channel_read_ex(channel, 0, $0.baseAddress, $0.count)
          }
        }
        if n > 0 {
          toSocket += buffer[0..<n]
          progress = true
        } else if n != LIBSSH2_ERROR_EAGAIN && n != 0 {
          break loop
        }
      }
      if !toSocket.isEmpty {
        let n = toSocket.withUnsafeBytes {
          send(pumpFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
        if n > 0 {
          toSocket.removeFirst(n)
          progress = true
        } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
          break loop
        }
      } else if libssh2_channel_eof(channel) == 1 {
        Glibc.shutdown(pumpFD, Int32(SHUT_WR))
        // Keep relaying the other direction until the inner session closes its end.
        if localEOF { break loop }
      }
      if !progress {
        var fds = [
          pollfd(fd: pumpFD, events: Int16(POLLIN), revents: 0),
          pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        ]
        if !toSocket.isEmpty { fds[0].events |= Int16(POLLOUT) }
        let directions = libssh2_session_block_directions(session)
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { fds[1].events |= Int16(POLLOUT) }
        _ = poll(&fds, 2, 50)
      }
    }
    libssh2_session_set_blocking(session, 1)
    libssh2_session_set_timeout(session, 2000)
    libssh2_channel_close(channel)
    libssh2_channel_free(channel)
    Glibc.close(pumpFD)
  }
}

/// A libssh2 channel pointer moved to the pump thread with its session.
final class ChannelBox: @unchecked Sendable {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// An SFTP v3 client (draft-ietf-secsh-filexfer-02 as OpenSSH's `sftp-server` speaks it, plus
/// the OpenSSH extensions `posix-rename`, `hardlink`, `fsync` and `lsetstat`) over any
/// `ByteStream`.
///
/// Blocking and single-threaded like the stream under it. Whole-file reads and writes are
/// pipelined: up to `maximumRequestsInFlight` requests of `chunkSize` bytes are outstanding at
/// once, as OpenSSH's `sftp` does. After a fatal error (the stream broke, the server broke the
/// protocol, a deadline passed) every later call fails with that error.
public final class SFTPClient {
  /// The stream the client speaks over; the client closes it on `close()`.
  public let stream: any ByteStream
  /// The protocol version the server answered with (always 3).
  public let version: UInt32
  /// The extensions the server announced, by name (`posix-rename@openssh.com` -> `1`).
  public let extensions: [String: String]
  /// Bytes per read or write request in pipelined transfers.
  public var chunkSize: Int = 32 * 1024
  /// Requests outstanding at once in pipelined transfers.
  public var maximumRequestsInFlight: Int = 64

  private var framer = SFTPFramer()
  private var nextID: UInt32 = 1
  private var broken: SFTPError?

  /// Starts the session: sends `SSH_FXP_INIT` and reads `SSH_FXP_VERSION`.
  public init(stream: any ByteStream) throws(SFTPError) {
    self.stream = stream
    do {
      try stream.write(SFTPRequest.initialize())
    } catch {
      throw SFTPError(error.timedOut ? .timedOut : .stream, "starting sftp: \(error.message)")
    }
    var framer = SFTPFramer()
    let first = try Self.receive(from: stream, framer: &framer)
    guard case .version(let version, let announced) = first else {
      throw .malformed("the server answered the version request with another reply")
    }
    guard version == 3 else {
      throw SFTPError(.unsupported, "the sftp server speaks protocol version \(version), not 3")
    }
    self.framer = framer
    self.version = version
    var extensions: [String: String] = [:]
    for item in announced where extensions[item.name] == nil { extensions[item.name] = item.data }
    self.extensions = extensions
  }

  /// Closes the stream; later calls fail.
  public func close() {
    if broken == nil { broken = SFTPError(.stream, "the sftp session is closed") }
    stream.close()
  }

  /// True when the server announced extension `name`.
  public func supports(_ name: String) -> Bool { extensions[name] != nil }

  // MARK: Single operations

  /// Opens a file; `attributes` apply when it is created (`permissions`).
  public func open(_ path: String, flags: SFTPOpenFlags, attributes: SFTPAttributes = SFTPAttributes())
    throws(SFTPError) -> SFTPHandle
  {
    try handle(.open(path: path, flags: flags, attributes: attributes), "open", path)
  }

  public func close(_ handle: SFTPHandle) throws(SFTPError) {
    try status(.close(handle), "close", "handle")
  }

  /// Reads up to `length` bytes at `offset`; empty at the end of the file.
  public func read(_ handle: SFTPHandle, offset: UInt64, length: UInt32) throws(SFTPError) -> [UInt8] {
    let response = try call(.read(handle, offset: offset, length: length))
    do {
      return try Self.dataOrEnd(response, requested: length, "read", "handle") ?? []
    } catch {
      throw fail(error)
    }
  }

  /// Writes `data` at `offset`, pipelined in chunks when it is larger than `chunkSize`.
  public func write(_ handle: SFTPHandle, offset: UInt64, data: [UInt8]) throws(SFTPError) {
    try writeAll(handle, offset: offset, data: data)
  }

  public func lstat(_ path: String) throws(SFTPError) -> SFTPAttributes {
    try attributes(.lstat(path: path), "lstat", path)
  }

  /// `lstat` of every path in one round trip (the requests are pipelined; the server answers
  /// them in order). Each path gets its attributes or the status error it got.
  public func lstat(_ paths: [String]) throws(SFTPError) -> [Result<SFTPAttributes, SFTPError>] {
    let responses = try exchange(paths.map { SFTPRequest.lstat(path: $0) })
    var results: [Result<SFTPAttributes, SFTPError>] = []
    for (path, response) in zip(paths, responses) {
      if case .attributes(_, let attributes) = response {
        results.append(.success(attributes))
        continue
      }
      let error = Self.unexpected(response, "lstat", path)
      if error.isFatal { throw fail(error) }
      results.append(.failure(error))
    }
    return results
  }

  public func stat(_ path: String) throws(SFTPError) -> SFTPAttributes {
    try attributes(.stat(path: path), "stat", path)
  }

  public func fstat(_ handle: SFTPHandle) throws(SFTPError) -> SFTPAttributes {
    try attributes(.fstat(handle), "fstat", "handle")
  }

  public func setstat(_ path: String, attributes: SFTPAttributes) throws(SFTPError) {
    try status(.setstat(path: path, attributes: attributes), "setstat", path)
  }

  public func fsetstat(_ handle: SFTPHandle, attributes: SFTPAttributes) throws(SFTPError) {
    try status(.fsetstat(handle, attributes: attributes), "fsetstat", "handle")
  }

  /// `setstat` that does not follow a final symlink (`lsetstat@openssh.com`).
  public func lsetstat(_ path: String, attributes: SFTPAttributes) throws(SFTPError) {
    try status(.lsetstat(path: path, attributes: attributes), "lsetstat", path)
  }

  public func openDirectory(_ path: String) throws(SFTPError) -> SFTPHandle {
    try handle(.opendir(path: path), "opendir", path)
  }

  /// The next batch of entries of an open directory; nil at the end.
  public func readDirectory(_ handle: SFTPHandle) throws(SFTPError) -> [SFTPName]? {
    let response = try call(.readdir(handle))
    switch response {
    case .name(_, let names): return names
    case .status(_, .endOfFile, _): return nil
    default: throw fail(Self.unexpected(response, "readdir", "handle"))
    }
  }

  /// Every entry of a directory (`.` and `..` included, as the server sends them), refusing
  /// directories with more than `limit` entries.
  public func listDirectory(_ path: String, limit: Int = 100_000) throws(SFTPError) -> [SFTPName] {
    let handle = try openDirectory(path)
    var entries: [SFTPName] = []
    do throws(SFTPError) {
      while let batch = try readDirectory(handle) {
        entries += batch
        guard entries.count <= limit else {
          throw SFTPError(.tooLarge, "'\(SFTPError.sanitize(path))' has more than \(limit) entries")
        }
      }
    } catch {
      if !error.isFatal { try? close(handle) }
      throw error
    }
    try close(handle)
    return entries
  }

  public func remove(_ path: String) throws(SFTPError) {
    try status(.remove(path: path), "remove", path)
  }

  public func makeDirectory(_ path: String, attributes: SFTPAttributes = SFTPAttributes()) throws(SFTPError) {
    try status(.mkdir(path: path, attributes: attributes), "mkdir", path)
  }

  public func removeDirectory(_ path: String) throws(SFTPError) {
    try status(.rmdir(path: path), "rmdir", path)
  }

  /// `SSH_FXP_RENAME`; OpenSSH's server refuses to replace an existing target this way.
  public func rename(_ from: String, to: String) throws(SFTPError) {
    try status(.rename(from: from, to: to), "rename", from)
  }

  /// `rename(2)` replacing `to` atomically (`posix-rename@openssh.com`).
  public func posixRename(_ from: String, to: String) throws(SFTPError) {
    try status(.posixRename(from: from, to: to), "rename", from)
  }

  /// `link(2)` (`hardlink@openssh.com`).
  public func hardlink(_ from: String, to: String) throws(SFTPError) {
    try status(.hardlink(from: from, to: to), "link", to)
  }

  /// `fsync(2)` on an open file (`fsync@openssh.com`).
  public func fsync(_ handle: SFTPHandle) throws(SFTPError) {
    try status(.fsync(handle), "fsync", "handle")
  }

  public func realpath(_ path: String) throws(SFTPError) -> String {
    try singleName(.realpath(path: path), "realpath", path)
  }

  public func readlink(_ path: String) throws(SFTPError) -> String {
    try singleName(.readlink(path: path), "readlink", path)
  }

  // MARK: Plumbing

  func usable() throws(SFTPError) {
    if let broken { throw broken }
  }

  func fail(_ error: SFTPError) -> SFTPError {
    if error.isFatal && broken == nil {
      broken = error
      stream.close()
    }
    return error
  }

  func send(_ request: SFTPRequest) throws(SFTPError) -> UInt32 {
    try usable()
    let id = nextID
    nextID = nextID == UInt32.max ? 1 : nextID + 1
    do {
      try stream.write(request.encode(id: id))
    } catch {
      throw fail(
        SFTPError(error.timedOut ? .timedOut : .stream, "sending to the sftp server: \(error.message)"))
    }
    return id
  }

  /// Reads replies until one answers a request in `ids`; a reply to anything else breaks the
  /// protocol (this client never leaves requests unanswered).
  func wait(for ids: Set<UInt32>) throws(SFTPError) -> (UInt32, SFTPResponse) {
    try usable()
    let response: SFTPResponse
    do {
      response = try Self.receive(from: stream, framer: &framer)
    } catch {
      throw fail(error)
    }
    guard let id = response.id else {
      throw fail(.malformed("a version reply arrived in the middle of the session"))
    }
    guard ids.contains(id) else {
      throw fail(.malformed("a reply to request \(id), which is not outstanding"))
    }
    return (id, response)
  }

  static func receive(from stream: any ByteStream, framer: inout SFTPFramer) throws(SFTPError)
    -> SFTPResponse
  {
    while true {
      if let packet = try framer.nextPacket() { return try SFTPCodec.decodeResponse(packet) }
      let bytes: [UInt8]
      do {
        bytes = try stream.read(maximum: 64 * 1024)
      } catch {
        throw SFTPError(
          error.timedOut ? .timedOut : .stream, "reading from the sftp server: \(error.message)")
      }
      if bytes.isEmpty {
        let detail = framer.pendingCount > 0 ? " in the middle of a reply" : ""
        throw SFTPError(.stream, "the sftp server closed the connection\(detail)")
      }
      framer.append(bytes)
    }
  }

  func call(_ request: SFTPRequest) throws(SFTPError) -> SFTPResponse {
    try exchange([request])[0]
  }

  func status(_ request: SFTPRequest, _ operation: String, _ path: String) throws(SFTPError) {
    let response = try call(request)
    if case .status(_, .ok, _) = response { return }
    throw fail(Self.unexpected(response, operation, path))
  }

  func handle(_ request: SFTPRequest, _ operation: String, _ path: String) throws(SFTPError)
    -> SFTPHandle
  {
    let response = try call(request)
    guard case .handle(_, let handle) = response else {
      throw fail(Self.unexpected(response, operation, path))
    }
    return handle
  }

  func attributes(_ request: SFTPRequest, _ operation: String, _ path: String) throws(SFTPError)
    -> SFTPAttributes
  {
    let response = try call(request)
    guard case .attributes(_, let attributes) = response else {
      throw fail(Self.unexpected(response, operation, path))
    }
    return attributes
  }

  func singleName(_ request: SFTPRequest, _ operation: String, _ path: String) throws(SFTPError)
    -> String
  {
    let response = try call(request)
    guard case .name(_, let names) = response else { throw fail(Self.unexpected(response, operation, path)) }
    guard names.count == 1 else {
      throw fail(.malformed("\(operation) answered with \(names.count) names instead of one"))
    }
    return names[0].filename
  }

  static func expectOK(_ response: SFTPResponse, _ operation: String, _ path: String) throws(SFTPError) {
    if case .status(_, .ok, _) = response { return }
    throw unexpected(response, operation, path)
  }

  /// The data of a read reply, nil at the end of the file.
  static func dataOrEnd(_ response: SFTPResponse, requested: UInt32, _ operation: String, _ path: String)
    throws(SFTPError) -> [UInt8]?
  {
    switch response {
    case .data(_, let bytes):
      guard !bytes.isEmpty, bytes.count <= Int(requested) else {
        throw .malformed("\(bytes.count) bytes answered a read of \(requested)")
      }
      return bytes
    case .status(_, .endOfFile, _):
      return nil
    default:
      throw unexpected(response, operation, path)
    }
  }

  /// The error for a reply that is not the success the operation wanted: a status becomes a
  /// status error, any other reply type breaks the protocol.
  static func unexpected(_ response: SFTPResponse, _ operation: String, _ path: String) -> SFTPError {
    guard case .status(_, let code, let message) = response else {
      return .malformed("\(operation) was answered with the wrong reply type")
    }
    var text = "\(operation) '\(SFTPError.sanitize(path))': \(code)"
    if !message.isEmpty && message.lowercased() != code.description { text += " (server: '\(message)')" }
    return SFTPError(.status(code), text)
  }
}

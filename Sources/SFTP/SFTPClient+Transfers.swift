/// Batches and pipelined transfers: many requests in flight, replies read in any order.
extension SFTPClient {
  /// Sends every request before reading any reply (one round trip for the lot) and returns
  /// the replies in request order. Status replies are returned, not thrown.
  public func exchange(_ requests: [SFTPRequest]) throws(SFTPError) -> [SFTPResponse] {
    try usable()
    for request in requests {
      if let name = request.requiredExtension, !supports(name) {
        throw SFTPError(.unsupported, "the sftp server does not offer '\(name)'")
      }
    }
    var ids: [UInt32] = []
    for request in requests { ids.append(try send(request)) }
    var replies: [UInt32: SFTPResponse] = [:]
    var waiting = Set(ids)
    while !waiting.isEmpty {
      let (id, response) = try wait(for: waiting)
      waiting.remove(id)
      replies[id] = response
    }
    return ids.map { replies[$0]! }
  }

  /// Opens `path`, reads it whole with pipelined requests and closes it; refuses files larger
  /// than `limit` bytes without reading more than `limit + chunkSize` of them.
  public func readFile(_ path: String, limit: Int) throws(SFTPError) -> [UInt8] {
    let handle = try open(path, flags: .read)
    do throws(SFTPError) {
      let bytes = try readAll(handle, limit: limit, path: path)
      try close(handle)
      return bytes
    } catch {
      if !error.isFatal { try? close(handle) }
      throw error
    }
  }

  /// Reads an open file from offset 0 to its end with pipelined requests, refusing more than
  /// `limit` bytes (it reads at most `limit + 1`).
  public func readAll(_ handle: SFTPHandle, limit: Int, path: String = "file") throws(SFTPError) -> [UInt8] {
    let limit = max(limit, 0)
    let bytes = try read(handle, offset: 0, count: limit + 1, path: path)
    guard bytes.count <= limit else {
      throw SFTPError(.tooLarge, "'\(SFTPError.sanitize(path))' is larger than the \(limit)-byte limit")
    }
    return bytes
  }

  /// Reads up to `count` bytes at `offset` with pipelined requests of `chunkSize` bytes; fewer
  /// when the file ends first. Short reads are asked again for the rest, as OpenSSH's client does.
  /// `expectedEnd` (where the file is thought to end, from its `fstat`) splits the requests
  /// there, so the data up to it and the end-of-file answer after it come in one round trip.
  public func read(
    _ handle: SFTPHandle, offset: UInt64, count: Int, path: String = "file", expectedEnd: UInt64? = nil
  ) throws(SFTPError) -> [UInt8] {
    try usable()
    let stop = offset + UInt64(max(count, 0))
    let chunk = UInt64(max(chunkSize, 1))
    var received: [UInt64: [UInt8]] = [:]
    var inFlight: [UInt32: (offset: UInt64, length: UInt32)] = [:]
    var retries: [(offset: UInt64, length: UInt32)] = []
    var nextOffset = offset
    var end = stop
    var failure: SFTPError?
    while true {
      while failure == nil && inFlight.count < max(maximumRequestsInFlight, 1) {
        let request: (offset: UInt64, length: UInt32)
        if let retry = retries.popLast() {
          guard retry.offset < end else { continue }
          request = retry
        } else if nextOffset < end {
          var length = min(chunk, end - nextOffset)
          if let expectedEnd, expectedEnd > nextOffset { length = min(length, expectedEnd - nextOffset) }
          request = (nextOffset, UInt32(length))
          nextOffset += UInt64(request.length)
        } else {
          break
        }
        let id = try send(.read(handle, offset: request.offset, length: request.length))
        inFlight[id] = request
      }
      if inFlight.isEmpty { break }
      let (id, response) = try wait(for: Set(inFlight.keys))
      guard let request = inFlight.removeValue(forKey: id) else { continue }
      do throws(SFTPError) {
        guard let bytes = try Self.dataOrEnd(response, requested: request.length, "read", path) else {
          end = min(end, request.offset)
          continue
        }
        received[request.offset] = bytes
        if bytes.count < Int(request.length) {
          retries.append((request.offset + UInt64(bytes.count), request.length - UInt32(bytes.count)))
        }
      } catch {
        if error.isFatal { throw fail(error) }
        if failure == nil { failure = error }
      }
    }
    if let failure { throw failure }
    var result: [UInt8] = []
    result.reserveCapacity(Int(end - min(offset, end)))
    var position = offset
    for start in received.keys.sorted() {
      let bytes = received[start]!
      guard start == position, start + UInt64(bytes.count) <= end else {
        throw SFTPError(.status(.failure), "'\(SFTPError.sanitize(path))' changed while it was read")
      }
      result += bytes
      position += UInt64(bytes.count)
    }
    guard position == end else {
      throw SFTPError(.status(.failure), "'\(SFTPError.sanitize(path))' changed while it was read")
    }
    return result
  }

  /// Writes `data` at `offset` with pipelined requests of `chunkSize` bytes; on a failure,
  /// waits for the requests still in flight and throws the first failure.
  public func writeAll(_ handle: SFTPHandle, offset: UInt64, data: [UInt8], path: String = "file")
    throws(SFTPError)
  {
    try usable()
    let chunk = max(chunkSize, 1)
    var position = 0
    var inFlight: Set<UInt32> = []
    var failure: SFTPError?
    repeat {
      while failure == nil && inFlight.count < max(maximumRequestsInFlight, 1) && position < data.count {
        let end = min(position + chunk, data.count)
        let piece = Array(data[position..<end])
        inFlight.insert(try send(.write(handle, offset: offset + UInt64(position), data: piece)))
        position = end
      }
      if inFlight.isEmpty { break }
      let (id, response) = try wait(for: inFlight)
      inFlight.remove(id)
      do throws(SFTPError) {
        try Self.expectOK(response, "write", path)
      } catch {
        if error.isFatal { throw fail(error) }
        if failure == nil { failure = error }
      }
    } while true
    if let failure { throw failure }
  }
}

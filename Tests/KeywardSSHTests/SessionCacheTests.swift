import Testing

@testable import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// The idle-session cache is bounded: past its limit a session is closed, not kept.
struct SessionCacheTests {
  func session(_ name: String) throws -> HostSession {
    var pair: [Int32] = [-1, -1]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
    close(pair[1])
    let raw = try SSHSession(host: name, fd: pair[0], operationTimeout: .seconds(1))
    return HostSession(session: raw, host: name, loginUser: "alice", loginKeyFingerprint: nil)
  }

  @Test("past the limit a checked-in session is closed; a key already held is replaced")
  func bounded() throws {
    let cache = SessionCache(limit: 2)
    let sessions = try (1...3).map { try session("h\($0)") }
    for (index, session) in sessions.enumerated() {
      cache.checkIn(SSHTransport.GroupKey(host: "h\(index + 1)", loginUser: "alice"), session)
    }
    #expect(cache.count == 2)
    // The third session's socket was closed with it; the first two are open.
    #expect(fcntl(sessions[2].session.fd, F_GETFD) == -1)
    #expect(fcntl(sessions[0].session.fd, F_GETFD) != -1)
    let again = try session("h1")
    cache.checkIn(SSHTransport.GroupKey(host: "h1", loginUser: "alice"), again)
    #expect(cache.count == 2)
    #expect(cache.checkOut(SSHTransport.GroupKey(host: "h1", loginUser: "alice")) === again)
    cache.closeAll()
    again.close()
  }
}

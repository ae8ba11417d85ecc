import Synchronization

/// Authenticated sessions kept between `fetch` and `write` calls, by (host, login user).
/// A session is checked out by one thread at a time; closed when the cache goes away.
final class SessionCache: Sendable {
  private let sessions = Mutex<[SSHTransport.GroupKey: HostSession]>([:])

  func checkOut(_ key: SSHTransport.GroupKey) -> HostSession? {
    sessions.withLock { $0.removeValue(forKey: key) }
  }

  func checkIn(_ key: SSHTransport.GroupKey, _ session: HostSession) {
    let previous = sessions.withLock { sessions in
      let previous = sessions[key]
      sessions[key] = session
      return previous
    }
    previous?.close()
  }

  func closeAll() {
    let all = sessions.withLock { sessions in
      defer { sessions.removeAll() }
      return Array(sessions.values)
    }
    for session in all { session.close() }
  }

  deinit { closeAll() }
}

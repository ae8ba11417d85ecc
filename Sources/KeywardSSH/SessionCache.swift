import Synchronization

/// Authenticated sessions kept between `fetch` and `write` calls, by (host, login user).
/// A session is checked out by one thread at a time; closed when the cache goes away.
///
/// At most `limit` sessions are kept (each idle libssh2 session holds ~60 KB, and a server
/// process): past it a session is closed instead of kept, so the first groups of a run (the
/// first to be written again) keep theirs and memory stays flat however many hosts there are.
final class SessionCache: Sendable {
  private let sessions = Mutex<[SSHTransport.GroupKey: HostSession]>([:])
  let limit: Int

  init(limit: Int = 512) {
    self.limit = limit
  }

  func checkOut(_ key: SSHTransport.GroupKey) -> HostSession? {
    sessions.withLock { $0.removeValue(forKey: key) }
  }

  func checkIn(_ key: SSHTransport.GroupKey, _ session: HostSession) {
    let previous = sessions.withLock { sessions -> HostSession? in
      guard sessions[key] != nil || sessions.count < limit else { return session }
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

extension SessionCache {
  /// How many sessions are kept.
  var count: Int { sessions.withLock { $0.count } }
}

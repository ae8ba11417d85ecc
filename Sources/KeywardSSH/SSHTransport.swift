import Foundation
import KeywardCore

/// The libssh2 transport: reads and writes authorized_keys files on real hosts over SSH/SFTP.
///
/// Targets are grouped by (host, login user); each group runs on one thread of a bounded pool
/// over one session, reused across `fetch` and `write` calls of this transport. The login user
/// is the target's user, or the host's `connectAs` (one session manages every user's file).
/// Every failure is reported for its own target; one host never blocks or fails another.
public struct SSHTransport: Transport {
  let settings: SSHSettings
  let connector: HostConnector
  let pool: WorkerPool
  let cache: SessionCache
  /// Test-only hooks in the write path (`KEYWARD_TEST_FAULT`, or set by tests).
  var faults: FaultInjection? = FaultInjection.fromEnvironment()

  /// - Parameters:
  ///   - hosts: how to reach each host, by manifest name (unlisted hosts use ssh_config alone).
  ///   - settings: files, flags and limits for every host.
  public init(hosts: [String: HostSpec], settings: SSHSettings) {
    self.settings = settings
    self.connector = HostConnector(
      settings: settings, hosts: hosts, resolver: SSHConfigResolver(configFile: settings.sshConfigFile))
    self.pool = WorkerPool(width: settings.parallelism)
    self.cache = SessionCache()
  }

  /// Closes the sessions kept open between calls.
  public func closeSessions() {
    cache.closeAll()
  }

  public func fetch(_ targets: [FetchRequest]) async -> [TargetID: Result<ObservedTarget, TransportError>] {
    let groups = group(targets, id: \.id)
    let progress = ProgressCounter(.reading, total: targets.count, report: settings.progress)
    defer { progress.finish() }
    return await withTaskGroup(of: [TargetID: Result<ObservedTarget, TransportError>].self) { tasks in
      for (key, requests) in groups {
        tasks.addTask { [self] in
          await pool.run { [self] in
            let users = requests.map(\.id.user)
            let results = runGroup(key, requests) { (host, request) throws(TransportError) in
              try TargetOperations(host: host, groupUsers: users).fetch(request)
            } failure: { error in
              Result<ObservedTarget, TransportError>.failure(error)
            } success: {
              Result.success($0)
            }
            progress.advance(by: requests.count)
            return results
          }
        }
      }
      var all: [TargetID: Result<ObservedTarget, TransportError>] = [:]
      for await part in tasks { all.merge(part) { a, _ in a } }
      return all
    }
  }

  public func write(_ requests: [WriteRequest]) async -> [TargetID: WriteOutcome] {
    (await writeReporting(requests)).mapValues(\.outcome)
  }

  /// `write`, with the warnings of each write (a stale lock broken, a backup not pruned).
  public func writeReporting(_ requests: [WriteRequest]) async -> [TargetID: WriteResult] {
    let groups = group(requests, id: \.id)
    let progress = ProgressCounter(.writing, total: requests.count, report: settings.progress)
    defer { progress.finish() }
    return await withTaskGroup(of: [TargetID: WriteResult].self) { tasks in
      for (key, batch) in groups {
        tasks.addTask { [self] in
          await pool.run { [self] in
            let users = batch.map(\.id.user)
            let results = runGroup(key, batch) { (host, request) throws(TransportError) in
              try TargetOperations(
                host: host, groupUsers: users,
                verifier: LoginVerifier(connector: connector),
                faults: faults
              ).write(request)
            } failure: { error in
              WriteResult(outcome: .failed(error))
            } success: {
              $0
            } failed: {
              if case .failed(let error) = $0.outcome { error } else { nil }
            }
            progress.advance(by: batch.count)
            return results
          }
        }
      }
      var all: [TargetID: WriteResult] = [:]
      for await part in tasks { all.merge(part) { a, _ in a } }
      return all
    }
  }

  struct GroupKey: Hashable, Sendable {
    var host: String
    var loginUser: String
  }

  private func group<R>(_ items: [R], id: KeyPath<R, TargetID>) -> [(GroupKey, [R])] {
    var groups: [GroupKey: [R]] = [:]
    var order: [GroupKey] = []
    for item in items {
      let target = item[keyPath: id]
      let login = connector.hosts[target.host]?.connectAs ?? target.user
      let key = GroupKey(host: target.host, loginUser: login)
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append(item)
    }
    return order.map { ($0, groups[$0]!) }
  }

  /// Runs one group on the calling (pool) thread: one session, each target under its own
  /// deadline, every target with its own result.
  private func runGroup<R, Value, Output>(
    _ key: GroupKey, _ requests: [R],
    operation: (HostSession, R) throws(TransportError) -> Value,
    failure: (TransportError) -> Output, success: (Value) -> Output,
    failed: (Value) -> TransportError? = { _ in nil }
  ) -> [TargetID: Output] where R: TargetRequest {
    var results: [TargetID: Output] = [:]
    var host: HostSession
    if let cached = cache.checkOut(key), cached.isAlive() {
      host = cached
    } else {
      do {
        host = try connector.open(key.host, user: key.loginUser)
      } catch {
        for request in requests { results[request.id] = failure(error) }
        return results
      }
    }
    var healthy = true
    for request in requests {
      guard healthy else {
        results[request.id] = failure(
          TransportError(
            code: .sessionLost, host: key.host, step: .connect,
            message: "the session to '\(key.host)' failed on an earlier target; run again"))
        continue
      }
      let token = Watchdog.shared.arm(fd: host.session.fd, after: settings.targetDeadline)
      do {
        let value = try operation(host, request)
        if Watchdog.shared.disarm(token) {
          healthy = false
          results[request.id] = failure(
            connector.deadlineError(key.host, step: failed(value)?.step ?? .verify))
        } else {
          // A failure returned with its warnings counts as one thrown.
          if let error = failed(value), !error.code.keepsSession { healthy = false }
          results[request.id] = success(value)
        }
      } catch {
        let fired = Watchdog.shared.disarm(token)
        if fired || !error.code.keepsSession { healthy = false }
        results[request.id] = failure(fired ? connector.deadlineError(key.host, step: error.step) : error)
      }
    }
    if healthy {
      cache.checkIn(key, host)
    } else {
      host.close()
    }
    return results
  }
}

/// A request for one target (fetch or write).
protocol TargetRequest: Sendable {
  var id: TargetID { get }
}

extension FetchRequest: TargetRequest {}
extension WriteRequest: TargetRequest {}

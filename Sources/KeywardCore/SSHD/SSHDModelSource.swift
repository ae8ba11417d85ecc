/// A transport that can tell what sshd does on its hosts. Implemented by the SSH transport
/// (`sshd -T` as root over the session, else sshd_config over SFTP) and `LocalTransport`.
public protocol SSHDModelSource: Sendable {
  /// Reads the model of each requested host; one host failing never fails another.
  func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<SSHDModel, TransportError>]
}

extension SSHDModelSource {
  /// Every request's model read side by side by `read` (which puts the blocking work on the
  /// transport's own threads), by host: the fan-out both SSH transports share.
  public func eachHost(
    _ requests: [SSHDModelRequest],
    read: @escaping @Sendable (SSHDModelRequest) async -> Result<SSHDModel, TransportError>
  ) async -> [String: Result<SSHDModel, TransportError>] {
    await withTaskGroup(of: (String, Result<SSHDModel, TransportError>).self) { tasks in
      for request in requests {
        tasks.addTask { (request.host, await read(request)) }
      }
      var all: [String: Result<SSHDModel, TransportError>] = [:]
      for await (host, result) in tasks { all[host] = result }
      return all
    }
  }
}

/// One host to model, for some users (or every login account).
public struct SSHDModelRequest: Hashable, Sendable {
  public var host: String
  public var users: [String]
  /// Also list every account of the host (`SSHDModel.accounts`), and model the login accounts.
  public var allAccounts: Bool
  /// Log in as this user when the transport must choose (the manifest's `connect_as`).
  public var loginUser: String?
  /// Also read sshd's log of public-key logins (`SSHDModel.logins`), for `report`.
  public var log: SSHDProbe.LogSpec?

  public init(
    host: String, users: [String], allAccounts: Bool = false, loginUser: String? = nil,
    log: SSHDProbe.LogSpec? = nil
  ) {
    self.host = host
    self.users = users
    self.allAccounts = allAccounts
    self.loginUser = loginUser
    self.log = log
  }
}

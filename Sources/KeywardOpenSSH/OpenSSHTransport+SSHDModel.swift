import Foundation
import KeywardCore

/// The sshd model over the master keyward already has: one remote command (``SSHDProbe``'s
/// script, `sshd -T -C` per user when the login user is root); sshd_config read over SFTP
/// with the login user's rights otherwise.
extension OpenSSHTransport: SSHDModelSource {
  public func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<
    SSHDModel, TransportError
  >] {
    await eachHost(requests) { [self] request in await offPool { [self] in readSSHDModel(request) } }
  }

  private func readSSHDModel(_ request: SSHDModelRequest) -> Result<SSHDModel, TransportError> {
    let login = hosts[request.host]?.connectAs ?? request.loginUser ?? request.users.first ?? "root"
    let key = GroupKey(host: request.host, loginUser: login)
    do throws(TransportError) {
      let host = try checkOut(key)
      do throws(TransportError) {
        var script = SSHDProbe.script(
          users: request.users, allAccounts: request.allAccounts, log: request.log)
        // As root, the accounts (and the helpers) the reads will need come in the same round
        // trip: one process less per host. If that part fails, the read asks again and says why.
        let accounts =
          login == "root" ? host.accountLookup(request.users) : nil
        if let accounts { script = SSHDProbe.foldingIn(accounts, after: script) }
        let result = try host.exec(script, step: .sshdModel)
        var text = String(decoding: result.stdout, as: UTF8.self)
        if let accounts, let (probe, rest) = SSHDProbe.split(text) {
          try? host.absorb(rest, stderr: "", accounts)
          text = probe
        }
        let output = SSHDProbe.parse(text)
        let reader = ProbedConfigReader(
          output, fallback: SFTPOverSSHConfigReader(files: try? host.files(for: host.loginUser, account: nil))
        )
        let model = SSHDProbe.model(
          host: request.host, output: output, users: request.users, allAccounts: request.allAccounts
        ) {
          SSHDConfig.load(reader: reader)
        }
        checkIn(key, host)
        return .success(model)
      } catch {
        host.close()
        throw error
      }
    } catch {
      return .failure(error)
    }
  }
}

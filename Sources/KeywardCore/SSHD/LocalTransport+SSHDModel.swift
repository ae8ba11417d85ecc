import Foundation

/// The sshd model of this machine: `sshd -T -C` when running as root on the real root file
/// system; otherwise `ROOT/etc/ssh/sshd_config` evaluated (approximate).
extension LocalTransport: SSHDModelSource {
  public func readSSHDModels(_ requests: [SSHDModelRequest]) async -> [String: Result<
    SSHDModel, TransportError
  >] {
    var all: [String: Result<SSHDModel, TransportError>] = [:]
    for request in requests { all[request.host] = readSSHDModel(request) }
    return all
  }

  func readSSHDModel(_ request: SSHDModelRequest) -> Result<SSHDModel, TransportError> {
    if root == "/" {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      process.arguments = [
        "-c", SSHDProbe.script(users: request.users, allAccounts: request.allAccounts, log: request.log),
      ]
      var environment = ProcessInfo.processInfo.environment
      environment["SSH_CONNECTION"] = nil
      process.environment = environment
      let pipe = Pipe()
      process.standardOutput = pipe
      process.standardError = FileHandle.nullDevice
      process.standardInput = FileHandle.nullDevice
      do {
        try process.run()
      } catch {
        return .failure(
          TransportError(
            code: .sshdModelFailed, host: request.host, step: .sshdModel,
            message: "cannot run /bin/sh to read the sshd model: \(error)"))
      }
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      let output = SSHDProbe.parse(String(decoding: data, as: UTF8.self))
      return .success(
        SSHDProbe.model(
          host: request.host, output: output, users: request.users, allAccounts: request.allAccounts
        ) {
          SSHDConfig.load(reader: RootConfigReader(root: "/"))
        })
    }
    // A root directory: its own passwd and group files, its own sshd_config.
    let passwd = (try? String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)) ?? ""
    let groupText = (try? String(contentsOfFile: root + "/etc/group", encoding: .utf8)) ?? ""
    var output = SSHDProbe.Output(
      uid: 0, client: "127.0.0.1", server: "127.0.0.1", port: 22, settings: [:], failures: [:], accounts: [:])
    output.accounts = PasswdEntry.parse(passwd).mapValues(SSHDModel.Account.init)
    for line in groupText.split(separator: "\n") {
      let f = line.split(separator: ":", omittingEmptySubsequences: false)
      guard f.count >= 4, let gid = UInt32(f[2]) else { continue }
      let members = f[3].split(separator: ",").map(String.init)
      for name in output.accounts.keys where output.accounts[name]!.gid == gid || members.contains(name) {
        output.accounts[name]!.groups.append(String(f[0]))
      }
    }
    var model = SSHDProbe.model(
      host: request.host, output: output, users: request.users, allAccounts: request.allAccounts
    ) {
      SSHDConfig.load(reader: RootConfigReader(root: root))
    }
    model.notes.insert("--root: '\(root)/etc/ssh/sshd_config' evaluated by keyward (approximate)", at: 0)
    return .success(model)
  }
}

/// Reads config files of this machine, or under a root directory (paths stay as the host sees them).
struct RootConfigReader: SSHDConfigReader {
  let root: String

  private func local(_ path: String) -> String { root == "/" ? path : root + path }

  func read(_ path: String) -> String? { try? String(contentsOfFile: local(path), encoding: .utf8) }

  func list(_ directory: String) -> [String]? {
    try? FileManager.default.contentsOfDirectory(atPath: local(directory))
  }
}

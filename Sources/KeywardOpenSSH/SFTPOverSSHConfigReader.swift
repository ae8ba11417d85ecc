import KeywardCore

/// sshd_config files read over SFTP with the login user's rights.
struct SFTPOverSSHConfigReader: SSHDConfigReader {
  let files: SFTPOverSSH?

  func read(_ path: String) -> String? {
    guard let files, let status = try? files.client.stat(path), status.fileType == .regular,
      (status.size ?? 0) <= AccessPolicy.defaultSizeLimit,
      let bytes = try? files.client.readFile(path, limit: Int(AccessPolicy.defaultSizeLimit))
    else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  func list(_ directory: String) -> [String]? {
    guard let names = try? files?.client.listDirectory(directory) else { return nil }
    return names.map(\.filename).filter { $0 != "." && $0 != ".." }
  }
}

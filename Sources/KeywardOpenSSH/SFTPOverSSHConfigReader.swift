import KeywardCore
import SFTP

/// sshd_config files read over SFTP with the login user's rights.
struct SFTPOverSSHConfigReader: SSHDConfigReader {
  let files: SFTPOverSSH?

  func read(_ path: String) -> String? {
    guard let files, let status = try? files.client.stat(path), status.fileType == .regular,
      let size = status.size, size <= AccessPolicy.defaultSizeLimit
    else { return nil }
    // Sized by the stat: one read request and one at the end, not the whole limit's worth of
    // pipelined requests (a config file is a few KiB; the limit is 16 MiB). A file that grew
    // since the stat is read again up to the limit.
    let limit = Int(AccessPolicy.defaultSizeLimit)
    let bytes: [UInt8]
    do {
      bytes = try files.client.readFile(path, limit: Int(size))
    } catch {
      guard case .tooLarge = error.kind, let again = try? files.client.readFile(path, limit: limit)
      else { return nil }
      bytes = again
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  func list(_ directory: String) -> [String]? {
    guard let names = try? files?.client.listDirectory(directory) else { return nil }
    return names.map(\.filename).filter { $0 != "." && $0 != ".." }
  }
}

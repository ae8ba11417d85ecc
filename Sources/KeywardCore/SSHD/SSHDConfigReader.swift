/// Where sshd_config and its `Include`d files are read from: this machine, a root directory,
/// or a host over SFTP.
public protocol SSHDConfigReader {
  /// The file's text, or nil when it cannot be read.
  func read(_ path: String) -> String?
  /// The names in a directory, or nil when it cannot be listed.
  func list(_ directory: String) -> [String]?
}

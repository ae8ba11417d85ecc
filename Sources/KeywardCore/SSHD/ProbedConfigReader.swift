/// sshd_config files as the sshd-model probe printed them (one round trip, read with the login
/// user's rights by the host's shell), falling back to `fallback` (SFTP, with the same rights)
/// for any file or directory the probe did not print: an `Include` elsewhere, or a file the
/// login user cannot read (which the fallback then reports as unreadable too).
public struct ProbedConfigReader: SSHDConfigReader {
  public var files: [String: String]
  public var listings: [String: [String]]
  public var fallback: any SSHDConfigReader

  public init(_ output: SSHDProbe.Output, fallback: any SSHDConfigReader) {
    self.files = output.configFiles
    self.listings = output.listings
    self.fallback = fallback
  }

  public func read(_ path: String) -> String? { files[path] ?? fallback.read(path) }

  public func list(_ directory: String) -> [String]? { listings[directory] ?? fallback.list(directory) }
}

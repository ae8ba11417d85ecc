/// Reads one target over `FilePrimitives`: the home (which must exist: a missing home is an
/// error at plan time), the file's directory and the file, refusing symlinks unless followed,
/// anything but regular files (checked before opening and on the opened handle, so a FIFO or a
/// device never blocks), files over the size limit, and files or directories of other users.
/// The one fetch every transport uses.
public struct TargetReader {
  public var files: any FilePrimitives
  public var policy: AccessPolicy

  public init(files: any FilePrimitives, policy: AccessPolicy) {
    self.files = files
    self.policy = policy
  }

  /// What `request` finds for `account`; `loginKeyFingerprint` is the key the transport logged
  /// in to this account with, when it did.
  public func read(
    _ request: FetchRequest, account: PasswdEntry, loginKeyFingerprint: String? = nil
  ) -> Result<ObservedTarget, TransportError> {
    let target = TargetFiles(fs: files, id: request.id, account: account, policy: policy)
    do throws(TransportError) {
      let resolved = try target.resolve(follow: request.follow, step: .read)
      var content: [UInt8]?
      var file = resolved.file
      if let checked = resolved.file,
        let (bytes, opened) = try target.read(resolved.location.path, step: .read, checked: checked)
      {
        content = bytes
        file = opened
      }
      var backup: Backup?
      var warnings: [String] = []
      if request.includeBackup, resolved.directory != nil {
        (backup, warnings) = try target.latestBackup(of: resolved.location, step: .read)
      }
      var observed = ObservedTarget(
        id: request.id, content: content, absolutePath: resolved.location.path, home: account.home,
        uid: account.uid, gid: account.gid, file: content == nil ? nil : file.map(PathStatus.init),
        directory: resolved.directory.map(PathStatus.init), homeStatus: resolved.home.map(PathStatus.init),
        loginKeyFingerprint: loginKeyFingerprint, latestBackup: backup)
      observed.warnings = warnings
      return .success(observed)
    } catch {
      return .failure(error)
    }
  }
}

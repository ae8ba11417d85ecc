/// What this binary is and what it was built from, for `keyward --version`.
///
/// `scripts/package` builds from an export of the committed tree and writes the commit into
/// that copy of this file; a build from a working tree says `development build`.
enum BuildInfo {
  /// The release version (also the version of the .deb and the tarball).
  static let version = "0.1.0"
  /// The git commit the binary was built from.
  static let commit = "development build"

  /// `0.1.0 (commit 1234abcd...)`.
  static var versionLine: String {
    commit == "development build" ? "\(version) (development build)" : "\(version) (commit \(commit))"
  }
}

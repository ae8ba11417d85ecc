import Foundation

/// The on-disk and machine-readable form of a plan (`schemas/plan.schema.json`).
///
/// Distinct from the in-memory `Plan`: it has a `format_version`, and a reader that refuses
/// versions it does not know. Plan files (`plan --out`) also carry each target's new bytes and
/// how to reach its host, so that `apply FILE` writes exactly what was reviewed.
public struct PlanDocument: Codable, Hashable, Sendable {
  /// The version this build writes and reads.
  public static let currentVersion = 1

  public var formatVersion: Int
  public var targets: [Target]
  public var summary: PlanSummary
  public var errors: [String]
  /// Present in plan files only.
  public var hosts: [HostSpec]?
  /// `--format json` only: the sshd model of each host, sorted by host.
  public var sshd: [SSHDModel]?

  public struct Target: Codable, Hashable, Sendable {
    public var target: String
    public var user: String
    public var host: String
    public var path: String
    public var mode: ManagementMode
    public var status: TargetStatus
    public var observedDigest: String?
    public var error: String?
    public var changes: [KeyChange]
    public var fileActions: [String]
    public var warnings: [String]
    /// What the record in the file said (`FileHistory`), and the changes by origin.
    public var history: FileHistory?
    public var origins: OriginCounts?
    /// Plan files only: the new file, base64, and how to write it.
    public var newContent: String?
    public var fileMode: UInt32?
    public var directoryMode: UInt32?
    public var follow: Bool?
    public var fileActionValues: [FileAction]?
  }

  /// The document for `plan`: with the bytes and hosts (`forFile`) or without (`--format json`).
  public init(_ plan: Plan, forFile: Bool) {
    formatVersion = Self.currentVersion
    summary = plan.summary
    errors = plan.errors
    hosts = forFile ? plan.hosts.values.sorted { $0.name < $1.name } : nil
    sshd = forFile || plan.sshd.isEmpty ? nil : plan.sshd.values.sorted { $0.host < $1.host }
    targets = plan.targets.map { t in
      Target(
        target: t.id.user + "@" + t.id.host, user: t.id.user, host: t.id.host, path: t.id.path, mode: t.mode,
        status: t.status, observedDigest: t.observedDigest, error: t.error, changes: t.changes,
        fileActions: t.fileActions.map(\.summary), warnings: t.warnings, history: t.history,
        origins: t.status == .changes ? OriginCounts(t) : nil,
        newContent: forFile ? t.newContent.map { Data($0).base64EncodedString() } : nil,
        fileMode: forFile ? t.fileMode : nil, directoryMode: forFile ? t.directoryMode : nil,
        follow: forFile ? t.follow : nil, fileActionValues: forFile ? t.fileActions : nil)
    }
  }

  /// Rebuilds the in-memory plan from a plan file.
  public func plan() throws(PlanFileError) -> Plan {
    let targets = try self.targets.map { t throws(PlanFileError) -> TargetPlan in
      var content: [UInt8]?
      if let text = t.newContent {
        guard let data = Data(base64Encoded: text) else {
          throw PlanFileError.corrupt("target '\(t.target)' has new content that is not base64")
        }
        content = Array(data)
      }
      if t.status == .changes && (content == nil || t.observedDigest == nil) {
        throw PlanFileError.corrupt(
          "target '\(t.target)' has changes but no content or digest; was it saved with 'plan --out'?")
      }
      return TargetPlan(
        id: TargetID(user: t.user, host: t.host, path: t.path), mode: t.mode, status: t.status,
        observedDigest: t.observedDigest, error: t.error, changes: t.changes,
        fileActions: t.fileActionValues ?? [], warnings: t.warnings, newContent: content,
        fileMode: t.fileMode ?? 0o600, directoryMode: t.directoryMode, follow: t.follow ?? false,
        history: t.history)
    }
    let hostMap = Dictionary((hosts ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    return Plan(targets: targets, hosts: hostMap, errors: errors)
  }

  /// Deterministic pretty JSON (sorted keys, snake_case).
  public func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    // Encoding plain value types cannot fail.
    let data = try! encoder.encode(self)
    return Array(data) + [0x0A]
  }

  /// Reads a plan file, refusing unknown format versions.
  public static func decode(_ bytes: [UInt8]) throws(PlanFileError) -> PlanDocument {
    struct Header: Decodable { var formatVersion: Int? }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let data = Data(bytes)
    guard let header = try? decoder.decode(Header.self, from: data) else {
      throw PlanFileError.corrupt("not a keyward plan file (not JSON, or no 'format_version')")
    }
    guard let version = header.formatVersion else {
      throw PlanFileError.corrupt("not a keyward plan file (no 'format_version')")
    }
    guard version == currentVersion else {
      throw PlanFileError.unsupportedVersion(version)
    }
    do {
      return try decoder.decode(PlanDocument.self, from: data)
    } catch {
      throw PlanFileError.corrupt("plan file does not match format version \(version): \(error)")
    }
  }
}

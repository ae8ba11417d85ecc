import AuthorizedKeys
import Crypto
import Foundation

/// The on-disk plan (`plan --out FILE`, read by `show FILE` and `apply FILE`), apart from the
/// `--format json` view (`PlanDocument`), as Terraform keeps its planfile apart from its JSON plan.
///
/// A plan file holds facts, not conclusions: for each target the bytes observed at plan time,
/// the bytes apply will write, the modes it will set, and labels (key names, reasons). Reading
/// it derives everything shown and checked from those facts — the key changes from the diff of
/// old and new bytes (`AuthorizedKeysDiff`), the file actions from the observed modes and owner —
/// so a plan cannot show one thing and write another. Labels only annotate derived changes.
///
/// Reading refuses, for the whole plan: an unknown format, a `digest` that does not match the
/// content, a target path the confinement rules refuse, a mode keyward never plans, observed
/// bytes that do not match their digest, new bytes that are not a diff keyward can show, and a
/// target written as root without `act_as_root`. The digest catches damage and careless edits;
/// a signature (`ssh-keygen -Y sign`, checked by the command line) proves who made the plan.
public enum PlanFile {
  /// The format this build writes for a plan without rollout marks: 2, which older builds read
  /// too. A plan with a rollout, or with hosts marked `canary`/`tier`, is format 3 (the same
  /// shape plus those fields), which older builds refuse by its version rather than its digest.
  public static let formatVersion = 2
  /// Every format this build reads.
  public static let readableVersions: Set<Int> = [2, 3]
  /// The `kind` every plan file has.
  public static let kind = "keyward-plan"
  /// The largest new file a plan may carry (as transports read at most this much).
  public static let maximumContentSize = 16 << 20

  struct Envelope: Codable {
    var formatVersion: Int
    var kind: String
    /// `sha256:` and the hex digest of the canonical encoding of `body`.
    var digest: String
    var body: Body

    // `plan` sorts after the header fields, so that they open the file (`looksLikePlan`).
    enum CodingKeys: String, CodingKey {
      case formatVersion, kind, digest
      case body = "plan"
    }
  }

  struct Body: Codable, Hashable {
    var hosts: [HostSpec]
    var errors: [String]
    var targets: [Target]
    /// Format 3: the waves `apply PLANFILE` uses (`1,10%,100%`).
    var rollout: String?
  }

  struct Target: Codable, Hashable {
    var user: String
    var host: String
    var path: String
    var mode: ManagementMode
    var status: TargetStatus
    var error: String?
    var warnings: [String]
    var follow: Bool
    var outsideHome: Bool
    var actAsRoot: Bool
    var runsAsRoot: Bool
    var observed: Observed?
    var newContent: String?
    var fileMode: UInt32
    var directoryMode: UInt32?
    var labels: [Label]
  }

  struct Observed: Codable, Hashable {
    var digest: String
    var content: String?
    var file: PathStatus?
    var directory: PathStatus?
    var uid: UInt32
    var home: String
  }

  struct Label: Codable, Hashable {
    var action: ChangeAction
    var fingerprint: String
    var line: Int?
    var keyName: String?
    var reason: String
    /// Intent, drift or unknown (`KeyChange.origin`), a label like the reason.
    var origin: ChangeOrigin?
  }

  // MARK: - Writing

  /// The file for `plan`: deterministic pretty JSON with its digest.
  public static func encode(_ plan: Plan) -> [UInt8] {
    let body = Body(
      hosts: plan.hosts.values.sorted { $0.name < $1.name }, errors: plan.errors,
      targets: plan.targets.map(target), rollout: plan.rollout?.description)
    let marked = body.rollout != nil || body.hosts.contains { $0.canary != nil || $0.tier != nil }
    let envelope = Envelope(
      formatVersion: marked ? 3 : formatVersion, kind: kind, digest: digest(of: body), body: body)
    return DeterministicJSON.encode(envelope) + [0x0A]
  }

  static func target(_ t: TargetPlan) -> Target {
    let writes = t.status == .changes && t.newContent != nil
    var observed: Observed?
    if writes, let snapshot = t.observed {
      observed = Observed(
        digest: ContentDigest.of(snapshot.content),
        content: snapshot.content.map { Data($0).base64EncodedString() },
        file: snapshot.file, directory: snapshot.directory, uid: snapshot.uid, home: snapshot.home)
    }
    return Target(
      user: t.id.user, host: t.id.host, path: t.id.path, mode: t.mode, status: t.status, error: t.error,
      warnings: t.warnings, follow: t.follow, outsideHome: t.allowOutsideHome, actAsRoot: t.actAsRoot,
      runsAsRoot: t.runsAsRoot, observed: observed,
      newContent: writes ? t.newContent.map { Data($0).base64EncodedString() } : nil, fileMode: t.fileMode,
      directoryMode: t.directoryMode,
      labels: t.changes.map {
        Label(
          action: $0.action, fingerprint: $0.fingerprint, line: $0.line, keyName: $0.keyName,
          reason: $0.reason, origin: $0.origin)
      })
  }

  static func digest(of body: Body) -> String {
    "sha256:" + ContentDigest.of(DeterministicJSON.encode(body, pretty: false))
  }

  // MARK: - Reading

  /// Whether `bytes` look like a plan file of any version (JSON with a `format_version`).
  public static func looksLikePlan(_ bytes: some Collection<UInt8>) -> Bool {
    let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
    return text.drop { $0.isWhitespace }.hasPrefix("{") && text.contains("\"format_version\"")
  }

  /// Reads a plan file, checks it whole, and rebuilds the plan from its facts.
  public static func decode(_ bytes: [UInt8]) throws(PlanFileError) -> Plan {
    struct Header: Decodable {
      var formatVersion: Int?
      var kind: String?
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let data = Data(bytes)
    guard let header = try? decoder.decode(Header.self, from: data), let version = header.formatVersion else {
      throw PlanFileError.corrupt("not a keyward plan file (not JSON, or no 'format_version')")
    }
    guard readableVersions.contains(version) else { throw PlanFileError.unsupportedVersion(version) }
    guard header.kind == kind else {
      throw PlanFileError.corrupt("not a keyward plan file ('kind' is not '\(kind)')")
    }
    let envelope: Envelope
    do {
      envelope = try decoder.decode(Envelope.self, from: data)
    } catch {
      throw PlanFileError.corrupt("the plan file does not match format version \(version): \(error)")
    }
    guard envelope.digest == digest(of: envelope.body) else {
      throw PlanFileError.tampered(["its digest does not match its content"])
    }
    var problems: [String] = []
    var seen: Set<TargetID> = []
    var targets: [TargetPlan] = []
    for target in envelope.body.targets {
      let id = TargetID(user: target.user, host: target.host, path: target.path)
      if !seen.insert(id).inserted { problems.append("target '\(id)' is in the plan twice") }
      let (plan, why) = rebuild(target, id: id)
      if let plan, why.isEmpty {
        targets.append(plan)
      } else {
        problems.append(contentsOf: why.map { "target '\(LineChange.printable(id.description))': \($0)" })
      }
    }
    var rollout: Rollout?
    if let text = envelope.body.rollout {
      do throws(RolloutError) {
        rollout = try Rollout(parsing: text)
      } catch {
        problems.append("its rollout: \(error.message)")
      }
    }
    let marked =
      envelope.body.rollout != nil || envelope.body.hosts.contains { $0.canary != nil || $0.tier != nil }
    if version < 3 && marked {
      problems.append("format version \(version) cannot carry a rollout or host tiers")
    }
    guard problems.isEmpty else { throw PlanFileError.tampered(problems) }
    let hosts = Dictionary(envelope.body.hosts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var plan = Plan(targets: targets, hosts: hosts, errors: envelope.body.errors)
    plan.rollout = rollout
    return plan
  }

  static func rebuild(_ t: Target, id: TargetID) -> (TargetPlan?, [String]) {
    var problems: [String] = []
    if !isName(t.user) { problems.append("the user name is not a user name") }
    if !isName(t.host) { problems.append("the host name is not a host name") }
    if let problem = PathConfinement.problem(inPath: t.path, allowOutsideHome: t.outsideHome) {
      problems.append(problem)
    }
    if !PlanModes.isAllowed(fileMode: t.fileMode) {
      problems.append("file mode \(FileAction.octal(t.fileMode)) is not a mode keyward plans")
    }
    if !PlanModes.isAllowed(directoryMode: t.directoryMode) {
      problems.append("directory mode \(FileAction.octal(t.directoryMode ?? 0)) is not a mode keyward plans")
    }
    if t.runsAsRoot && !t.actAsRoot {
      problems.append("it runs as root but its host does not allow 'act_as_root'")
    }
    var plan = TargetPlan(
      id: id, mode: t.mode, status: t.status, observedDigest: t.observed?.digest, error: t.error,
      warnings: t.warnings, fileMode: t.fileMode, directoryMode: t.directoryMode, follow: t.follow)
    plan.allowOutsideHome = t.outsideHome
    plan.actAsRoot = t.actAsRoot
    plan.runsAsRoot = t.runsAsRoot
    switch t.status {
    case .error:
      if t.error == nil { problems.append("it is in error without a reason") }
      plan.observedDigest = nil
    case .unchanged:
      if t.newContent != nil { problems.append("it is unchanged but carries new content") }
      plan.observedDigest = nil
    case .changes:
      guard let observed = t.observed, let text = t.newContent else {
        problems.append("it has changes but not the observed file and the new content")
        break
      }
      guard let new = Data(base64Encoded: text).map(Array.init),
        observed.content.map({ Data(base64Encoded: $0) != nil }) ?? true
      else {
        problems.append("its content is not base64")
        break
      }
      let old = observed.content.flatMap { Data(base64Encoded: $0) }.map(Array.init)
      if new.count > maximumContentSize {
        problems.append("its new content is larger than \(maximumContentSize) bytes")
      }
      if ContentDigest.of(old) != observed.digest {
        problems.append("the observed content does not match the observed digest")
      }
      if (old == nil) != (observed.file == nil) {
        problems.append("the observed content and the observed file disagree on whether the file exists")
      }
      if let problem = PathConfinement.problem(
        inAbsolutePath: id.absolutePath(home: observed.home), home: observed.home,
        allowOutsideHome: t.outsideHome)
      {
        problems.append(problem)
      }
      let diff = AuthorizedKeysDiff(old: old, new: new)
      if !diff.isCanonical {
        problems.append(
          "its new content is not a list of changes to the observed file (lines moved, or line ends changed)")
      }
      guard problems.isEmpty else { break }
      let labels = t.labels.map {
        var label = KeyChange(
          action: $0.action, fingerprint: $0.fingerprint, type: "", keyName: $0.keyName, reason: $0.reason,
          line: $0.line)
        label.origin = $0.origin
        return label
      }
      let snapshot = ObservedSnapshot(
        content: old, file: observed.file, directory: observed.directory, uid: observed.uid,
        home: observed.home)
      plan.observed = snapshot
      plan.changes = diff.annotated(with: labels, fallbackReason: "(no reason in the plan file)")
      plan.lineChanges = diff.lineChanges
      // What the observed file's record says, derived from its bytes like the changes.
      plan.history = OriginClassifier(file: old.map { AuthorizedKeysFile(bytes: $0) }).history
      let writing = old != new
      let modes = snapshot.fileActions(fileMode: t.fileMode, directoryMode: t.directoryMode, writing: false)
      if writing || !modes.isEmpty {
        plan.fileActions = snapshot.fileActions(
          fileMode: t.fileMode, directoryMode: t.directoryMode, writing: true)
        plan.newContent = new
      } else {
        // Nothing to write: the plan is honest about it by writing nothing.
        plan.status = .unchanged
        plan.observedDigest = nil
      }
    }
    return problems.isEmpty ? (plan, []) : (nil, problems)
  }

  /// A user or host name as a plan may name it: printable, no spaces, no `/`, not `.`/`..`.
  static func isName(_ text: String) -> Bool {
    guard !text.isEmpty, text.count <= 255, text != ".", text != ".." else { return false }
    return text.unicodeScalars.allSatisfy { scalar in
      scalar.value > 0x20 && scalar.value < 0x7F && scalar != "/" && scalar != "\\"
    }
  }
}

/// Applies a plan: writes exactly each changed target's planned bytes, with
/// compare-and-swap against the digest observed at plan time. One target failing never
/// stops the others; a plan with plan-wide errors is refused whole.
public struct Applier: Sendable {
  /// Previous versions kept beside each file written.
  public var backupLimit: Int
  /// Prove after each write that the account still accepts a login (`--no-verify` turns it off).
  public var verifyLogin: Bool

  public init(backupLimit: Int = Backup.defaultLimit, verifyLogin: Bool = true) {
    self.backupLimit = backupLimit
    self.verifyLogin = verifyLogin
  }

  public func apply(_ plan: Plan, transport: some Transport) async -> ApplyReport {
    if !plan.errors.isEmpty {
      let results = plan.targets.map {
        TargetApplyResult(target: $0.id.description, status: .skipped, message: "the plan was refused")
      }
      return ApplyReport(results: results, refused: plan.errors)
    }
    var requests: [WriteRequest] = []
    var refused: [TargetID: TransportError] = [:]
    for target in plan.targets where target.status == .changes {
      guard let content = target.newContent, let digest = target.observedDigest else { continue }
      // Defence in depth: whatever made this plan, only modes and paths keyward plans are written.
      if let problem = Self.refusal(target) {
        refused[target.id] = TransportError(
          code: .planRefused, host: target.id.host, step: .plan, message: problem)
        continue
      }
      var request = WriteRequest(
        id: target.id, expectedDigest: digest, content: content, fileMode: target.fileMode,
        directoryMode: target.directoryMode, follow: target.follow, backupLimit: backupLimit,
        verifyLogin: verifyLogin)
      request.allowOutsideHome = target.allowOutsideHome
      request.allowActingAsRoot = target.actAsRoot
      requests.append(request)
    }
    let written = requests.isEmpty ? [:] : await transport.writeReporting(requests)
    var outcomes = written.mapValues(\.outcome)
    for (id, error) in refused { outcomes[id] = .failed(error) }
    let results = plan.targets.map { target -> TargetApplyResult in
      var result = result(for: target, outcomes)
      if let warnings = written[target.id]?.warnings, !warnings.isEmpty { result.warnings = warnings }
      return result
    }
    return ApplyReport(results: results)
  }

  private func result(for target: TargetPlan, _ outcomes: [TargetID: WriteOutcome]) -> TargetApplyResult {
    let name = target.id.description
    switch target.status {
    case .unchanged:
      return TargetApplyResult(target: name, status: .unchanged)
    case .error:
      return TargetApplyResult(target: name, status: .skipped, message: target.error)
    case .changes:
      switch outcomes[target.id] {
      case .written(let digest):
        return TargetApplyResult(target: name, status: .applied, digest: digest)
      case .stale(let current):
        return TargetApplyResult(
          target: name, status: .stale,
          message: "\(name) changed since the plan was made; run plan again", digest: current)
      case .failed(let error):
        return TargetApplyResult(target: name, status: .failed, message: error.description)
      case .rolledBack(let error):
        return TargetApplyResult(
          target: name, status: .rolledBack,
          message: "written, then restored to the previous file: \(error.description)")
      case nil:
        return TargetApplyResult(
          target: name, status: .failed, message: "the plan has no content for this target")
      }
    }
  }

  /// Why a target of a plan must not be written, or nil.
  static func refusal(_ target: TargetPlan) -> String? {
    if !PlanModes.isAllowed(fileMode: target.fileMode) {
      return "file mode \(FileAction.octal(target.fileMode)) is not a mode keyward plans"
    }
    if !PlanModes.isAllowed(directoryMode: target.directoryMode) {
      return "directory mode \(FileAction.octal(target.directoryMode ?? 0)) is not a mode keyward plans"
    }
    return PathConfinement.problem(inPath: target.id.path, allowOutsideHome: target.allowOutsideHome)
  }
}

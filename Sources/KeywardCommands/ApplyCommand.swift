import ArgumentParser
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// `keyward apply`: converge every target to the manifests, or apply a saved plan exactly.
struct ApplyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply",
    abstract: "Converge every target: apply manifests (after showing the plan) or a saved plan file.",
    discussion: """
      With manifests, the plan is shown and, on a terminal, applied only after you type 'yes'; \
      without a terminal, --auto-approve is required. With a plan file (from 'plan --out'), \
      exactly that plan is applied; a target whose file changed since is refused as stale.
      Exit codes: 0 success, 1 any target failed, was stale or the plan was refused.
      With --detailed-exitcode (a bitmask, as Puppet's): 0 nothing to do, 2 changes applied, \
      4 failures (a target failed, was stale, rolled back or skipped, or the plan was refused), \
      6 both.
      """)

  @Argument(help: ArgumentHelp("Manifest files or directories, or one saved plan file.", valueName: "PATH"))
  var paths: [String] = []

  @Flag(name: .customLong("auto-approve"), help: "Apply without asking.")
  var autoApprove = false

  @Option(help: "Report format.")
  var format: ReportFormat = .text

  @Flag(
    name: .customLong("detailed-exitcode"),
    help: "Exit 0 nothing to do, 2 changes applied, 4 failures, 6 changes and failures.")
  var detailedExitcode = false

  @OptionGroup var selection: SelectionOptions
  @OptionGroup var transport: TransportOptions
  @OptionGroup var guards: GuardOptions
  @OptionGroup var applyOptions: ApplyOptions
  @OptionGroup var records: RunRecordOptions
  @OptionGroup var signature: SignatureOptions
  @OptionGroup var rolloutOptions: RolloutOptions

  func validate() throws {
    if paths.count > 1, let plan = paths.first(where: PlanInput.isPlanFile) {
      throw ValidationError(
        "'\(plan)' is a saved plan: apply takes one plan file alone, or manifest files and directories")
    }
    if rolloutOptions.resume != nil && !paths.isEmpty {
      throw ValidationError("--resume takes the saved plan itself; give no other path")
    }
    if rolloutOptions.resume == nil && paths.isEmpty {
      throw ValidationError("give manifests or a saved plan")
    }
  }

  func run() async throws {
    let started = Date()
    let plan: Plan
    let channel: any Transport
    let opened = OpenedTransport()
    defer { opened.close() }
    var revision: String?
    // --rollout is checked before anything is read; the waves of a saved plan or of the
    // manifests' `rollout:` apply when it is not given. (`staged` is set once, after the
    // branches: reassigning it in them crashed Swift 6.3.1's optimiser in `-c release`.)
    let requested = try rolloutOptions.applier(applyOptions.applier())
    let saved: Rollout?
    if let resume = rolloutOptions.resume {
      plan = try PlanInput.load(resume, signature: signature)
      saved = plan.rollout
      channel = try opened.make(transport, hosts: plan.hosts)
    } else if paths.count == 1, PlanInput.isPlanFile(paths[0]) {
      plan = try PlanInput.load(paths[0], signature: signature)
      saved = plan.rollout
      if let refusal = transport.selection().refusal(of: plan) {
        Terminal.report(.error, "\(paths[0]): \(refusal); nothing was applied")
        throw ExitCode(1)
      }
      channel = try opened.make(transport, hosts: plan.hosts)
      if format == .text {
        Terminal.out(TextPlanRenderer(color: selection.color).render(plan))
      }
    } else {
      if signature.required {
        throw ValidationError("--allowed-signers checks a saved plan; give one plan file")
      }
      let desired = try ManifestInput.load(paths)
      revision = ManifestRevision.detect(paths)
      saved = desired.rollout
      // One transport for the plan and the writes: the connections that read the targets write them.
      channel = try opened.make(transport, hosts: desired.hosts)
      plan = try await PlanRunner.plan(
        desired, transport: transport, channel: channel, guards: guards, filter: selection.filter,
        revision: revision)
      if format == .text {
        Terminal.out(TextPlanRenderer(color: selection.color).render(plan))
      }
      if !plan.errors.isEmpty {
        Terminal.report(.error, "the plan was refused; nothing was applied")
        let report = await Applier().apply(plan, transport: channel)
        throw try finish(plan, report, started: started, revision: revision)
      }
      if !plan.hasChanges {
        let report = await Applier().apply(plan, transport: channel)
        if format == .json { Terminal.out(report.renderJSON()) }
        throw try finish(plan, report, started: started, revision: revision)
      }
      try Confirmation.ask(autoApprove: autoApprove, question: "Do you want to apply these changes?")
    }
    let staged = try requested ?? rolloutOptions.applier(applyOptions.applier(), saved: saved)
    if rolloutOptions.resume != nil || staged != nil {
      let rollout =
        staged ?? RolloutApplier(applier: applyOptions.applier(), rollout: Rollout(sizes: [.percent(100)]))
      throw try await applyInWaves(
        plan, rollout: rollout, channel: channel, started: started, revision: revision)
    }
    var report = await applyOptions.applier().apply(plan, transport: channel)
    report.transports = Self.served(plan, by: channel)
    Terminal.out(format == .json ? report.renderJSON() : "\n" + report.renderText())
    throw try finish(plan, report, started: started, revision: revision)
  }

  /// Which transport served each host of `plan` and why (nil when none went over SSH).
  static func served(_ plan: Plan, by channel: any Transport) -> [String: TransportChoice]? {
    guard let router = channel as? HostRouter else { return nil }
    let hosts = Set(plan.targets.map(\.id.host))
    let served = router.choices.filter { hosts.contains($0.key) }
    return served.isEmpty ? nil : served
  }

  /// Writes the run records and returns the exit code the run ends with (`throw try finish(...)`).
  private func finish(_ plan: Plan, _ report: ApplyReport, started: Date, revision: String?) throws
    -> ExitCode
  {
    let code = Self.exitCode(report, detailed: detailedExitcode)
    let record = RunRecord(
      plan: plan, report: report, started: started, finished: Date(), revision: revision, exitCode: code)
    try records.write(record)
    return ExitCode(code)
  }

  /// 0/1, or with `detailed` the bitmask: 2 when a target was written, 4 when anything failed.
  static func exitCode(_ report: ApplyReport, detailed: Bool) -> Int32 {
    guard detailed else { return report.hasFailures ? 1 : 0 }
    return (report.count(.applied) > 0 ? 2 : 0) | (report.hasFailures ? 4 : 0)
  }

  /// A staged apply: the waves, each line printed as its wave ends; returns the exit code (1 when
  /// a gate closed).
  private func applyInWaves(
    _ plan: Plan, rollout: RolloutApplier, channel: any Transport, started: Date, revision: String?
  ) async throws -> ExitCode {
    let waves = rollout.waves(plan)
    let text = format == .text
    if text { Terminal.out(RolloutText.render(rollout.rollout, waves: waves) + "\n") }
    var result = await rollout.apply(plan, transport: channel) { wave in
      if text { Terminal.out(RolloutReport.line(wave, of: waves.count) + "\n") }
    }
    result.report.transports = Self.served(plan, by: channel)
    if text {
      if let stopped = result.stoppedAfter {
        let left = waves.count - stopped
        Terminal.out(
          "Rollout stopped after wave \(stopped) of \(waves.count): \(left) wave\(left == 1 ? "" : "s") not started.\n"
        )
        if rolloutOptions.resume != nil || (paths.count == 1 && PlanInput.isPlanFile(paths[0])) {
          let file = rolloutOptions.resume ?? paths[0]
          Terminal.error(
            "Fix what failed, then continue with: keyward apply --resume \(file) --rollout \(rollout.rollout)"
          )
        } else {
          Terminal.error("Fix what failed, then apply again: converged targets are left as they are")
        }
      }
      Terminal.out("\n" + result.report.renderText())
    } else {
      Terminal.out(result.renderJSON())
    }
    return try finish(plan, result.report, started: started, revision: revision)
  }
}

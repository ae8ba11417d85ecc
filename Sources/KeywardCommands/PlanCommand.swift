import ArgumentParser
import Foundation
import KeywardCore

/// `keyward plan`: fetch every target, diff it against the manifests, show what would change.
struct PlanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Show what apply would change on every target.",
    discussion: """
      Exit codes: 0 success (with --detailed-exitcode: no changes), 1 errors, \
      2 changes pending (with --detailed-exitcode only). 'apply --detailed-exitcode' is a \
      bitmask instead: 2 changes applied, 4 failures, 6 both.
      """)

  @Argument(help: ArgumentHelp("Manifest files or directories.", valueName: "PATH"))
  var paths: [String]

  @Option(help: "Output format: text, json or markdown.")
  var format: OutputFormat = .text

  @Option(help: ArgumentHelp("Save the plan to FILE for 'keyward apply FILE'.", valueName: "FILE"))
  var out: String?

  @Option(
    name: .customLong("out-dir"),
    help: ArgumentHelp(
      "With --format markdown: write numbered parts (plan-1.md, ...) of at most 60,000 characters each into DIR, removing parts left from an earlier run.",
      valueName: "DIR"))
  var outDir: String?

  @Option(
    name: .customLong("sign-key"),
    help: ArgumentHelp(
      "With --out: sign the plan file with this SSH key (ssh-keygen -Y sign, namespace keyward-plan) into FILE.sig.",
      valueName: "KEY"))
  var signKey: String?

  @Flag(name: .customLong("detailed-exitcode"), help: "Exit 2 when there are changes, 0 when there are none.")
  var detailedExitcode = false

  @Flag(
    name: .customLong("refresh-sources"),
    help:
      "Also fetch every remote key source and show what changed upstream since keyward.lock (the plan still uses the lock)."
  )
  var refreshSources = false

  @Option(
    help: ArgumentHelp(
      "Apply in these waves, e.g. '1,10%,100%' (default: the manifests' rollout:); shown with the plan and saved with --out for 'apply PLANFILE'.",
      valueName: "WAVES"))
  var rollout: String?

  @OptionGroup var selection: SelectionOptions
  @OptionGroup var transport: TransportOptions
  @OptionGroup var guards: GuardOptions
  @OptionGroup var records: RunRecordOptions

  func validate() throws {
    if signKey != nil && out == nil { throw ValidationError("--sign-key needs --out") }
    if let rollout {
      do { _ = try Rollout(parsing: rollout) } catch { throw ValidationError(error.description) }
    }
  }

  func run() async throws {
    let started = Date()
    let loaded = try ManifestInput.loadResult(paths)
    guard let desired = loaded.state else { throw ExitCode(1) }
    let revision = ManifestRevision.detect(paths)
    let channel = try transport.makeTransport(hosts: desired.hosts)
    defer { TransportOptions.close(channel) }
    var plan = try await PlanRunner.plan(
      desired, transport: transport, channel: channel, guards: guards, filter: selection.filter,
      revision: revision)
    // The waves are part of the plan: shown in every format, and saved for 'apply PLANFILE'.
    plan.rollout = try rollout.map { try Rollout(parsing: $0) } ?? desired.rollout
    var planDigest: String?
    if let out {
      let bytes = PlanFile.encode(plan)
      try FileIO.write(bytes, to: out)
      planDigest = ContentDigest.of(bytes)
      if let signKey {
        do {
          try FileIO.write(
            try PlanSignature.sign(bytes, key: signKey), to: PlanSignature.defaultPath(for: out))
        } catch {
          Terminal.report(.error, "\(error)")
          throw ExitCode(1)
        }
      }
    }
    try PlanOutput.print(plan, format: format, color: selection.color, outDir: outDir, planDigest: planDigest)
    if let out {
      let signed = signKey == nil ? "" : " and its signature to \(PlanSignature.defaultPath(for: out))"
      Terminal.error("Saved the plan to \(out)\(signed); apply it with: keyward apply \(out)")
    }
    let upstream = refreshSources ? try await SourceFetch.refresh(loaded, format: format) : nil
    let failed = plan.hasErrors || upstream?.failed == true
    let changed = plan.hasChanges || upstream?.changed == true
    let code: Int32 = failed ? 1 : (detailedExitcode && changed ? 2 : 0)
    try records.write(
      RunRecord(
        plan: plan, report: nil, started: started, finished: Date(), revision: revision, exitCode: code))
    if code != 0 { throw ExitCode(code) }
  }
}

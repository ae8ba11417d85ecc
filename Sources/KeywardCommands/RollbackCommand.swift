import ArgumentParser
import Foundation
import KeywardCore

/// `keyward rollback user@host...`: put back the newest backup keyward kept of each file.
struct RollbackCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rollback",
    abstract: "Restore the newest backup keyward kept of each target's file (planned and shown first).",
    discussion: """
      Every apply keeps the previous file beside it (<file>.keyward-backup.<time>). Rollback \
      plans the return to the keys of the newest one, shows it, and applies it with the same \
      guards and compare-and-swap as apply: keys the manifests revoke or their policy refuses \
      are not restored, protected keys are never removed, the key keyward logs in with is kept. \
      The file replaced by the rollback is itself kept as a backup.
      """)

  @Argument(
    help: ArgumentHelp("Targets: user@host, or user@host:path for a non-default file.", valueName: "TARGET"))
  var targets: [String]

  @Option(
    name: .customLong("manifest"),
    help: ArgumentHelp(
      "Manifests (required): their revocations, policy and protected keys guard what is restored, and"
        + " their host settings say how to reach each host.", valueName: "PATH"))
  var manifests: [String] = []

  @Flag(name: .customLong("auto-approve"), help: "Apply without asking.")
  var autoApprove = false

  @OptionGroup var colors: ColorOptions

  @OptionGroup var transport: TransportOptions
  @OptionGroup var guards: GuardOptions
  @OptionGroup var applyOptions: ApplyOptions

  func validate() throws {
    if manifests.isEmpty {
      throw ValidationError(
        "rollback needs --manifest PATH: a backup may hold keys the manifests have revoked since")
    }
  }

  func run() async throws {
    let ids = try targets.map(Self.parse)
    let desired = try ManifestInput.load(manifests)
    let channel = try transport.makeTransport(hosts: desired.hosts)
    defer { TransportOptions.close(channel) }
    let settings = Dictionary(desired.targets.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    var observed: [TargetID: Result<ObservedTarget, TransportError>] = [:]
    var requests: [FetchRequest] = []
    for id in ids {
      let outside = settings[id]?.allowOutsideHome ?? false
      if let problem = PathConfinement.problem(inPath: id.path, allowOutsideHome: outside) {
        observed[id] = .failure(
          TransportError(code: .pathRefused, host: id.host, step: .plan, message: problem))
        continue
      }
      requests.append(
        FetchRequest(
          id: id, follow: settings[id]?.follow ?? false, includeBackup: true, allowOutsideHome: outside,
          allowActingAsRoot: settings[id]?.actAsRoot ?? desired.hosts[id.host]?.actAsRoot ?? false))
    }
    if !requests.isEmpty { observed.merge(await channel.fetch(requests)) { a, _ in a } }
    let plan = RollbackPlanner(options: guards.plannerOptions()).plan(
      ids, observed: observed, guards: desired)
    Terminal.out(TextPlanRenderer(color: colors.color).render(plan))
    guard plan.hasChanges else { throw plan.hasErrors ? ExitCode(1) : ExitCode.success }
    try Confirmation.ask(autoApprove: autoApprove, question: "Roll these targets back?")
    let report = await applyOptions.applier().apply(plan, transport: channel)
    Terminal.out("\n" + report.renderText())
    if report.hasFailures || plan.hasErrors { throw ExitCode(1) }
  }

  static func parse(_ text: String) throws -> TargetID {
    let (who, path) =
      text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) }
      ?? (text, ".ssh/authorized_keys")
    let parts = who.split(separator: "@", maxSplits: 1)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !path.isEmpty else {
      throw ValidationError("'\(text)' is not a target; write user@host or user@host:path")
    }
    return TargetID(user: String(parts[0]), host: String(parts[1]), path: path)
  }
}

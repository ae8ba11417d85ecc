import ArgumentParser
import KeywardCore

/// `keyward report`: who can log in where, by which path. Read-only.
struct ReportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "List every way into every account: keys (file, line, restrictions), commands, CAs, passwords.",
    discussion: """
      With manifests, keys are marked managed or unmanaged; without, the report is a pure \
      inventory of the USER@HOST accounts given (USER '*' is every login account).
      Exit codes: 0 no findings, 3 findings of severity warning, 1 a host could not be read.
      """)

  enum Format: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv, markdown
  }

  @Argument(help: ArgumentHelp("Manifest paths and/or USER@HOST accounts.", valueName: "PATH|USER@HOST"))
  var arguments: [String] = []

  @Option(help: "Output format: text, json, csv or markdown.")
  var format: Format = .text

  @Option(
    name: .customLong("connect-as"),
    help: ArgumentHelp(
      "Log in to every host as this user (root reads every account exactly).", valueName: "USER"))
  var connectAs: String?

  @Option(
    name: .customLong("unused-days"),
    help: ArgumentHelp(
      "A key with no login in sshd's journal for this many days is 'unused-key'.", valueName: "N"))
  var unusedDays = 90

  @Option(
    name: .customLong("sshd-log"),
    help: ArgumentHelp(
      "Read logins from this file on each host ('%H' is its hostname) instead of the journal or /var/log/auth.log.",
      valueName: "PATH"))
  var sshdLog: String?

  @Flag(name: .customLong("no-log"), help: "Do not read sshd's log (no unused-key findings).")
  var noLog = false

  @OptionGroup var transport: TransportOptions

  func run() async throws {
    let targets = try FleetTargets.resolve(
      arguments, transport: transport, connectAs: connectAs, manifestUsers: true)
    let log = noLog ? nil : SSHDProbe.LogSpec(days: unusedDays, path: sshdLog)
    let snapshot = try await targets.snapshot(transport, log: log)
    let report = AccessReportBuilder(desired: targets.desired).build(snapshot)
    switch format {
    case .text: Terminal.out(AccessReportRenderer.text(report))
    case .json: Terminal.out(AccessReportRenderer.json(report))
    case .csv: Terminal.out(AccessReportRenderer.csv(report))
    case .markdown: Terminal.out(AccessReportRenderer.markdown(report))
    }
    if !report.errors.isEmpty { throw ExitCode(1) }
    if report.hasFindings { throw ExitCode(3) }
  }
}

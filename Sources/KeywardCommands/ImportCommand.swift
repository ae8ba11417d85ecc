import ArgumentParser
import Foundation
import KeywardCore

/// `keyward import`: turn the keys on a live fleet into manifests whose next plan is empty.
/// Reads hosts only; never writes to them.
struct ImportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Write manifests from the keys found on hosts (read-only on the hosts).",
    discussion: """
      TARGETS are USER@HOST (USER '*' is every login account; HOST a glob over the hosts of \
      the manifests given), manifest paths (every login account of their hosts), or --local. \
      Writes hosts.yaml, keys.yaml and access.yaml into DIR and never overwrites a file. \
      Lines that cannot be imported are listed with host, file and line.
      Exit codes: 0 written, 1 a host could not be read (the others are written), 2 usage.
      """)

  @Argument(help: ArgumentHelp("USER@HOST accounts and/or manifest paths.", valueName: "TARGET"))
  var targets: [String] = []

  @Option(help: ArgumentHelp("Directory to write the manifests into.", valueName: "DIR"))
  var out: String

  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case additive, exclusive
  }

  @Option(help: "Mode written to defaults: additive (the default) or exclusive.")
  var mode: Mode = .additive

  @Option(
    name: .customLong("connect-as"),
    help: ArgumentHelp(
      "Log in to every host as this user (written as defaults.connect_as).", valueName: "USER"))
  var connectAs: String?

  @OptionGroup var transport: TransportOptions

  func run() async throws {
    let selection = try FleetTargets.resolve(
      targets, transport: transport, connectAs: connectAs, manifestUsers: false)
    let names = ["hosts.yaml", "keys.yaml", "access.yaml"]
    for name in names where FileManager.default.fileExists(atPath: out + "/" + name) {
      throw ValidationError("'\(out)/\(name)' exists; import never overwrites a file: choose another --out")
    }
    let snapshot = try await selection.snapshot(transport)
    var hosts = selection.hosts
    if transport.local { hosts = [:] }
    let result = FleetImporter(
      mode: mode == .additive ? .additive : .exclusive, hosts: hosts, connectAs: connectAs
    ).run(snapshot)
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    for file in result.files {
      let path = out + "/" + file.name
      guard FileManager.default.createFile(atPath: path, contents: Data(file.text.utf8)) else {
        throw ValidationError("cannot write '\(path)'")
      }
    }
    var errors: [String] = []
    for (_, model) in snapshot.models.sorted(by: { $0.key < $1.key }) {
      if case .failure(let error) = model { errors.append(error.description) }
    }
    for missing in snapshot.missingUsers { Terminal.report(.warning, "no such account: \(missing)") }
    for unknown in snapshot.unknownSettings {
      Terminal.report(.warning, "not imported: \(unknown): the files sshd reads are unknown (log in as root)")
    }
    for line in result.skipped { Terminal.error("not imported: \(line.description)") }
    for error in errors { Terminal.report(.error, error) }
    Terminal.out(
      "Imported \(result.keyCount) keys for \(result.targetCount) accounts as \(result.ruleCount) access rules"
        + " (\(mode.rawValue)) into \(out)/{\(names.joined(separator: ","))}; \(result.skipped.count) lines not imported.\n"
        + (mode == .additive
          ? "Check it: keyward plan \(out) (it shows no changes)\n"
          : "Check it: keyward plan \(out) (exclusive: it removes the keys listed as not imported)\n"))
    if !errors.isEmpty { throw ExitCode(1) }
  }
}

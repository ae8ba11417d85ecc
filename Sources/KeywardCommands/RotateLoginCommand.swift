import ArgumentParser
import AuthorizedKeys
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// `keyward rotate-login`: replace keyward's own login key on every account the manifests
/// reach, wave by wave, without a moment in which no key logs in.
struct RotateLoginCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rotate-login",
    abstract: "Rotate keyward's own login key on every account the manifests reach, without lock-out.",
    discussion: """
      For each account keyward logs in to (the host's connect_as user, or the target's user), \
      wave by wave: add the new key beside the old one, prove a fresh login with the new key \
      alone, and only then remove the old key. The state is read from the hosts: when a run is \
      interrupted, run the same command again to finish it. Log in with the old key as usual \
      (ssh-agent, ssh_config or --identity); give the new private key with --new-key (its \
      public half is read from FILE.pub). Afterwards the manifests must grant the new key \
      instead of the old one: the command prints the change, or makes it with \
      --update-manifests.
      Exit codes: 0 every account rotated, 1 otherwise.
      """)

  @Argument(help: ArgumentHelp("Manifest files or directories.", valueName: "PATH"))
  var paths: [String]

  @Option(
    name: .customLong("new-key"),
    help: ArgumentHelp(
      "The new private key to log in with (its public key is read from FILE.pub).", valueName: "FILE"))
  var newKey: String

  @Flag(
    name: .customLong("update-manifests"),
    help: "Replace the old key with the new one where the manifests declare it inline.")
  var updateManifests = false

  @Flag(name: .customLong("auto-approve"), help: "Rotate without asking.")
  var autoApprove = false

  @Option(help: "Report format: text or json.")
  var format: OutputFormat = .text

  @OptionGroup var selection: SelectionOptions
  @OptionGroup var transport: TransportOptions
  @OptionGroup var rolloutOptions: RolloutOptions

  func validate() throws {
    if format == .markdown { throw ValidationError("rotate-login reports are text or json") }
    if transport.local {
      throw ValidationError("rotate-login rotates the key keyward logs in with over SSH; --local has none")
    }
    if rolloutOptions.resume != nil {
      throw ValidationError("rotate-login resumes by running it again; --resume is for apply")
    }
  }

  func run() async throws {
    let (key, comment) = try Self.readPublicKey(newKey + ".pub")
    let desired = try ManifestInput.load(paths)
    let accounts = LoginAccounts.requests(for: desired, selection: transport.selection(selection.filter))
    guard !accounts.isEmpty else {
      Terminal.error("error: the manifests reach no account; nothing to rotate")
      throw ExitCode(1)
    }
    let rollout =
      try rolloutOptions.rollout.map { try Rollout(parsing: $0) } ?? desired.rollout
      ?? Rollout(sizes: [.percent(100)])
    let pause = Self.testPause()
    let hold = Self.testHold()
    var rotation = LoginKeyRotation(
      targets: accounts, newKey: key, newComment: comment, rollout: rollout,
      hostOrder: RolloutOrder.hosts(desired.hosts),
      maxFailures: try FailureLimit(parsing: rolloutOptions.maxFailures),
      checkpoint: { step, wave in
        if let pause { try? await Task.sleep(for: pause) }
        if let hold, hold == "\(wave):\(step.rawValue)" {
          Terminal.error("keyward-test: holding at wave \(wave) after '\(step.rawValue)'")
          try? await Task.sleep(for: .seconds(120))
        }
      })
    rotation.wavePause = rolloutOptions.wavePause.flatMap(RolloutOptions.duration) ?? .zero
    rotation.knownOldKeys = Set(
      transport.identities.compactMap { try? Self.readPublicKey($0 + ".pub").0.fingerprint })
    if rotation.knownOldKeys.contains(key.fingerprint) {
      throw ValidationError(
        "--new-key '\(newKey)' is the key keyward logs in with now (--identity); give the key to rotate to")
    }
    let waves = rotation.waves
    let text = format == .text
    if text {
      Terminal.out(
        "Rotating keyward's login key to \(key.fingerprint) on \(accounts.count) account\(accounts.count == 1 ? "" : "s") of \(waves.joined().count) host\(waves.joined().count == 1 ? "" : "s")\n"
      )
      Terminal.out(RolloutText.render(rollout, waves: waves, hostsWhich: "to rotate") + "\n")
    }
    try Confirmation.ask(autoApprove: autoApprove, question: "Do you want to rotate the login key?")

    var newOptions = transport
    newOptions.identities = [newKey]
    // Two transports, one per login key (each closed when the command ends).
    let old = try transport.makeTransport(hosts: desired.hosts)
    defer { TransportOptions.close(old) }
    let new = try newOptions.makeTransport(hosts: desired.hosts)
    defer { TransportOptions.close(new) }
    let report = await rotation.run(old: old, new: new) { wave in
      if text { Terminal.out(wave.line(of: waves.count) + "\n") }
    }
    if text {
      if let stopped = report.stoppedAfter {
        let left = waves.count - stopped
        Terminal.out(
          "Rotation stopped after wave \(stopped) of \(waves.count): \(left) wave\(left == 1 ? "" : "s") not started.\n"
        )
      }
      Terminal.out("\n" + report.renderText())
    } else {
      Terminal.out(report.renderJSON())
    }
    if report.isComplete || report.results.contains(where: { $0.status == .rotated }) {
      try manifestChange(desired, old: Set(report.oldKeys), new: key, comment: comment)
    }
    if !report.isComplete {
      Terminal.error(
        "Some accounts still log in with the old key; fix what failed, then run the same command again")
      throw ExitCode(1)
    }
  }

  /// Prints (or, with --update-manifests, makes) the change that grants the new key instead.
  private func manifestChange(_ desired: DesiredState, old: Set<String>, new: PublicKey, comment: String?)
    throws
  {
    let declarations = LoginKeyDeclaration.find(in: desired, old: old)
    let material = new.type + " " + new.base64 + (comment.map { " " + $0 } ?? "")
    guard !declarations.isEmpty else {
      if !old.isEmpty {
        Terminal.error(
          "note: no manifest grants the old key; if keyward's key is declared in them, declare '\(Echo.value(material, limit: 200))' instead"
        )
      }
      return
    }
    for declaration in declarations {
      let path = declaration.location.file
      let lines = (try? String(contentsOfFile: path, encoding: .utf8))?.components(separatedBy: "\n") ?? []
      let index = declaration.location.line - 1
      let replaced =
        lines.indices.contains(index)
        ? declaration.replacing(in: lines[index], with: new, comment: comment) : nil
      let place = "\(declaration.location): key '\(Echo.value(declaration.keyName, limit: 100))'"
      guard let replaced else {
        Terminal.error(
          "Update the manifests: \(place) is the old login key (not inline); make it '\(Echo.value(material, limit: 200))' (e.g. point 'file:' at \(Echo.value(newKey, limit: 200)).pub)"
        )
        continue
      }
      if updateManifests {
        var updated = lines
        updated[index] = replaced
        try FileIO.writeAtomically(
          Array(updated.joined(separator: "\n").utf8), to: path, mode: Self.mode(of: path))
        Terminal.error("Updated \(place) to the new key")
      } else {
        Terminal.error(
          "Update the manifests (or run again with --update-manifests): \(place): make line \(declaration.location.line) read '\(Echo.value(replaced, limit: 400))'"
        )
      }
    }
  }

  private static func mode(of path: String) -> mode_t {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0o644
  }

  /// The public key and comment in `path` (an OpenSSH `.pub` file).
  static func readPublicKey(_ path: String) throws -> (PublicKey, String?) {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw ValidationError(
        "cannot read '\(path)': --new-key takes the private key and reads its public key beside it (ssh-keygen -y -f KEY > KEY.pub)"
      )
    }
    let line = AuthorizedKeysLine(text: text.trimmingCharacters(in: .whitespacesAndNewlines))
    guard let entry = line.entry, entry.options.isEmpty else {
      throw ValidationError("'\(path)' is not an OpenSSH public key: \(line.error ?? "it has options")")
    }
    return (entry.key, entry.comment)
  }

  /// Test-only: `KEYWARD_TEST_ROTATION_HOLD=WAVE:STEP` (e.g. `2:added`) says so on stderr when
  /// that step of that wave has ended, then waits two minutes, so that a test can kill the run
  /// exactly there. Only a pause: nothing is skipped or faked. Debug builds only.
  static func testHold() -> String? {
    #if DEBUG
      return Environment.value("KEYWARD_TEST_ROTATION_HOLD")
    #else
      return nil
    #endif
  }

  /// Test-only: `KEYWARD_TEST_ROTATION_PAUSE=MS` pauses MS milliseconds after each step of each
  /// wave, so that a test can kill the run at a known moment. Only a pause: nothing is skipped
  /// or faked. Compiled into debug builds only.
  static func testPause() -> Duration? {
    #if DEBUG
      guard let value = Environment.value("KEYWARD_TEST_ROTATION_PAUSE"), let ms = Int(value), ms > 0,
        ms <= 60_000
      else { return nil }
      return .milliseconds(ms)
    #else
      return nil
    #endif
  }
}

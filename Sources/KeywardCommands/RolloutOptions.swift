import ArgumentParser
import KeywardCore

/// `--rollout`, `--max-failures`, `--wave-pause` and `--resume`: applying in gated waves.
struct RolloutOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Apply in waves of hosts, e.g. '1,10%,100%' (numbers of hosts or shares; the last repeats); each wave must pass its gate before the next starts.",
      valueName: "WAVES"))
  var rollout: String?

  @Option(
    name: .customLong("max-failures"),
    help: ArgumentHelp(
      "Targets per wave that may fail (a number, or a share like '10%') before the rollout stops; a failed login check always stops it.",
      valueName: "N|P%"))
  var maxFailures: String = "0"

  @Option(
    name: .customLong("wave-pause"),
    help: ArgumentHelp("Wait this long between waves: '30s', '5m', '1h'.", valueName: "DURATION"))
  var wavePause: String?

  @Option(
    help: ArgumentHelp(
      "Continue a saved plan after a stopped rollout: targets that already hold the planned file count as done.",
      valueName: "PLANFILE"))
  var resume: String?

  func validate() throws {
    do {
      if let rollout { _ = try Rollout(parsing: rollout) }
      _ = try FailureLimit(parsing: maxFailures)
    } catch {
      throw ValidationError(error.description)
    }
    if let wavePause, Self.duration(wavePause) == nil {
      throw ValidationError("--wave-pause '\(wavePause)' is not a duration like '30s', '5m' or '1h'")
    }
    if rollout == nil && wavePause != nil { throw ValidationError("--wave-pause needs --rollout") }
  }

  /// The rollout applier, or nil when no rollout was asked for.
  func applier(_ base: Applier) throws -> RolloutApplier? {
    guard let rollout else { return nil }
    return RolloutApplier(
      applier: base, rollout: try Rollout(parsing: rollout),
      maxFailures: try FailureLimit(parsing: maxFailures),
      wavePause: wavePause.flatMap(Self.duration) ?? .zero)
  }

  /// The rollout applier for a saved plan: `--rollout`, else the plan's own rollout (from the
  /// manifest's `rollout:` when it was made), else nil.
  func applier(_ base: Applier, saved: Rollout?) throws -> RolloutApplier? {
    if let staged = try applier(base) { return staged }
    guard let saved else { return nil }
    return RolloutApplier(applier: base, rollout: saved, maxFailures: try FailureLimit(parsing: maxFailures))
  }

  /// `90`, `30s`, `5m`, `1h` (at most a day).
  static func duration(_ text: String) -> Duration? {
    let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
    var digits = text
    var scale = 1
    if let last = text.last, let unit = units[last] {
      scale = unit
      digits = String(text.dropLast())
    }
    guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
      let value = Int(digits), value * scale <= 86_400
    else { return nil }
    return .seconds(value * scale)
  }
}

import ArgumentParser
import KeywardCore

/// Which targets a plan covers, and how it is shown: the options plan and apply share.
struct SelectionOptions: ParsableArguments {
  @Option(
    name: .customLong("target"),
    help: ArgumentHelp("Only targets matching this glob on user@host (repeatable).", valueName: "PATTERN"))
  var targets: [String] = []

  @OptionGroup var colors: ColorOptions

  /// The `--target` patterns.
  var filter: [TargetPattern] { targets.map(TargetPattern.init) }

  /// Colour only on a terminal, never with `NO_COLOR` or `--no-color`.
  var color: Bool { colors.color }
}

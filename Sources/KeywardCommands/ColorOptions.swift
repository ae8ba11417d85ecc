import ArgumentParser

/// `--no-color`: the one declaration every command that colours its output shares.
struct ColorOptions: ParsableArguments {
  @Flag(name: .customLong("no-color"), help: "No colour, even on a terminal.")
  var noColor = false

  /// Colour only on a terminal, never with `NO_COLOR` or `--no-color`.
  var color: Bool { Terminal.useColor(noColorFlag: noColor) }
}

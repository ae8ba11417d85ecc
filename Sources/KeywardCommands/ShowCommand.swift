import ArgumentParser
import KeywardCore

/// `keyward show FILE`: render a saved plan.
struct ShowCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "Render a saved plan (from 'plan --out') in any format.")

  @Argument(help: ArgumentHelp("A plan file.", valueName: "FILE"))
  var file: String

  @Option(help: "Output format: text, json or markdown.")
  var format: OutputFormat = .text

  @Option(
    name: .customLong("out-dir"),
    help: ArgumentHelp("With --format markdown: write numbered parts into DIR.", valueName: "DIR"))
  var outDir: String?

  @OptionGroup var colors: ColorOptions

  @OptionGroup var signature: SignatureOptions

  func run() async throws {
    let plan = try PlanInput.load(file, signature: signature)
    try PlanOutput.print(plan, format: format, color: colors.color, outDir: outDir)
  }
}

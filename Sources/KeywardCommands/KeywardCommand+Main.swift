import ArgumentParser
import Foundation

extension KeywardCommand {
  /// The program's entry point: parses the arguments and runs the chosen command, awaiting
  /// asynchronous ones.
  ///
  /// `await KeywardCommand.main()` in a top-level `main.swift` resolves to the synchronous
  /// `ParsableCommand.main()` on Linux, which refuses an asynchronous root command
  /// ("Asynchronous root command needs availability annotation") and runs nothing.
  public static func asyncMain() async {
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: error)
    }
  }
}

import ArgumentParser
import Foundation

/// Asks for 'yes' on a terminal before anything is written.
enum Confirmation {
  static func ask(autoApprove: Bool, question: String) throws {
    if autoApprove { return }
    guard Terminal.stdinIsTerminal else {
      Terminal.report(
        .error,
        "not applying: no terminal to confirm on; review the plan and pass --auto-approve")
      throw ExitCode(1)
    }
    Terminal.out("\n\(question) Only 'yes' will be accepted: ")
    guard let answer = readLine(), answer.trimmingCharacters(in: .whitespaces) == "yes" else {
      Terminal.error("Cancelled; nothing was changed.")
      throw ExitCode(1)
    }
  }
}

import ArgumentParser
import Dispatch
import Foundation
import KeywardOpenSSH

#if canImport(Glibc)
  import Glibc
#endif

extension KeywardCommand {
  /// The program's entry point: parses the arguments and runs the chosen command, awaiting
  /// asynchronous ones.
  ///
  /// `await KeywardCommand.main()` in a top-level `main.swift` resolves to the synchronous
  /// `ParsableCommand.main()` on Linux, which refuses an asynchronous root command
  /// ("Asynchronous root command needs availability annotation") and runs nothing.
  public static func asyncMain() async {
    // Started by ssh as the askpass of a keyward run (OpenSSH transport, encrypted keys): answer
    // the one prompt through the run, print nothing else, parse no arguments.
    if AskpassClient.isRequested { answerAskpass() }
    let signals = stopSSHOnSignals()
    defer { withExtendedLifetime(signals) {} }
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      SSHProcesses.stopAll()
      exit(withError: error)
    }
    SSHProcesses.stopAll()
  }

  /// Prints the run's answer to ssh's prompt (its one argument) on standard output and exits 0,
  /// or exits 1 (ssh takes that as no: the prompt is refused as under BatchMode).
  private static func answerAskpass() -> Never {
    let arguments = CommandLine.arguments
    guard arguments.count == 2, let answer = AskpassClient.answer(prompt: arguments[1]) else { Glibc.exit(1) }
    let bytes = Array((answer + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
      let count = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress!, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { Glibc.exit(1) }
      offset += count
    }
    Glibc.exit(0)
  }

  /// SIGTERM, SIGINT and SIGHUP stop every `ssh` this run started (by PID), then end the
  /// process with 128 + the signal, as the default action would have.
  private static func stopSSHOnSignals() -> [any DispatchSourceSignal] {
    // A parent may have blocked these (test runners do): the run must still hear them.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    for number in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&unblock, number) }
    pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    return [SIGTERM, SIGINT, SIGHUP].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        SSHProcesses.stopAll()
        _exit(128 + number)
      }
      source.resume()
      return source
    }
  }
}

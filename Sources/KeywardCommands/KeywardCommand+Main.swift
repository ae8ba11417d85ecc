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

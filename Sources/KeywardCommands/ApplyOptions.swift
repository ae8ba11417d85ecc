import ArgumentParser
import KeywardCore

/// How writes are made: backups kept and the login check after each write.
struct ApplyOptions: ParsableArguments {
  @Flag(
    name: .customLong("no-verify"),
    help: "Do not prove, after each write, that the account still accepts a login.")
  var noVerify = false

  @Option(
    name: .customLong("backups"), help: "How many previous versions of each file to keep beside it (0: none)."
  )
  var backups: Int = Backup.defaultLimit

  func validate() throws {
    if backups < 0 { throw ValidationError("--backups cannot be negative") }
  }

  func applier() -> Applier { Applier(backupLimit: backups, verifyLogin: !noVerify) }
}

import ArgumentParser

/// The `keyward` command line: keys-as-code for OpenSSH.
public struct KeywardCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "keyward",
    abstract: "Keys-as-code for OpenSSH: declare authorized_keys in YAML, plan and apply them.",
    version: BuildInfo.versionLine,
    subcommands: [
      PlanCommand.self,
      ApplyCommand.self,
      ShowCommand.self,
      DiffCommand.self,
      RollbackCommand.self,
      InspectCommand.self,
      ValidateCommand.self,
      ImportCommand.self,
      ReportCommand.self,
      LockCommand.self,
      RotateLoginCommand.self,
    ]
  )

  public init() {}
}

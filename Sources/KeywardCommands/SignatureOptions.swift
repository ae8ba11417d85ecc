import ArgumentParser

/// How a saved plan's signature is checked (`show FILE`, `apply FILE`).
struct SignatureOptions: ParsableArguments {
  @Option(
    name: .customLong("allowed-signers"),
    help: ArgumentHelp(
      "Require a valid signature of the plan file by --signer-identity under this OpenSSH allowed-signers file.",
      valueName: "FILE"))
  var allowedSigners: String?

  @Option(
    name: .customLong("signer-identity"),
    help: ArgumentHelp("The identity (principal) the plan must be signed by.", valueName: "ID"))
  var signerIdentity: String?

  @Option(
    name: .customLong("signature"),
    help: ArgumentHelp("The plan's signature file (default: PLANFILE.sig).", valueName: "FILE"))
  var signature: String?

  func validate() throws {
    if (allowedSigners == nil) != (signerIdentity == nil) {
      throw ValidationError("--allowed-signers and --signer-identity go together")
    }
    if signature != nil && allowedSigners == nil {
      throw ValidationError("--signature needs --allowed-signers and --signer-identity")
    }
  }

  /// True when a signature must be checked.
  var required: Bool { allowedSigners != nil }
}

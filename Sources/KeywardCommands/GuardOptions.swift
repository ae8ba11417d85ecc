import ArgumentParser
import KeywardCore

/// The safety guards a plan is checked against, and the flags that lift them on purpose.
struct GuardOptions: ParsableArguments {
  @Flag(name: .customLong("allow-self-removal"), help: "Allow removing the key keyward logged in with.")
  var allowSelfRemoval = false

  @Flag(name: .customLong("allow-empty"), help: "Allow leaving an account with no key at all.")
  var allowEmpty = false

  @Option(
    name: .customLong("max-removals"),
    help:
      "Refuse the whole plan if it removes more keys than this (default: the manifest's policy.max_removals)."
  )
  var maxRemovals: Int?

  func plannerOptions() -> PlannerOptions {
    PlannerOptions(allowSelfRemoval: allowSelfRemoval, allowEmpty: allowEmpty, maxRemovals: maxRemovals)
  }
}

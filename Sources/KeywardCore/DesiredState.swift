/// The resolved manifests: what every target must hold. A plain value; the planner's input.
public struct DesiredState: Sendable {
  /// Targets sorted by `TargetID`.
  public var targets: [DesiredTarget]
  /// How to reach each host, by manifest host name.
  public var hosts: [String: HostSpec]
  public var revoked: [Revocation]
  /// Fingerprints of keys marked `protected` anywhere in the manifests.
  public var protectedFingerprints: Set<String>
  /// Default cap on removals per run (`policy.max_removals`), if set.
  public var maxRemovals: Int?
  /// The manifest name of every key defined, by fingerprint, granted or not: a key still
  /// defined but no longer granted is named in plans, never shown as unknown.
  public var keyNames: [String: String]
  /// The key policy (`policy.allowed_types`, `policy.min_rsa_bits`), for keys not from the manifest.
  public var policy: KeyPolicy
  /// The manifest's `rollout:` (the waves `apply` uses when `--rollout` is not given).
  public var rollout: Rollout?

  public init(
    targets: [DesiredTarget], hosts: [String: HostSpec] = [:], revoked: [Revocation] = [],
    protectedFingerprints: Set<String> = [], maxRemovals: Int? = nil,
    policy: KeyPolicy = .standard, keyNames: [String: String] = [:]
  ) {
    self.policy = policy
    self.targets = targets.sorted { $0.id < $1.id }
    self.hosts = hosts
    self.revoked = revoked
    self.protectedFingerprints = protectedFingerprints
    self.maxRemovals = maxRemovals
    self.keyNames = keyNames
  }
}

/// `rollout: "1,10%,100%"`: the waves `apply` uses for these manifests when `--rollout` is not
/// given (saved plans apply at once unless `--rollout` is given with them).
extension ManifestDecoder {
  mutating func decodeRollout(_ node: YAMLNode) {
    guard let text = text(node, "'rollout'") else { return }
    do {
      manifest.rollout = Located(try Rollout(parsing: text), at: location(node))
    } catch {
      diagnostics.error(.invalidValue, "'rollout': \(error)", at: location(node))
    }
  }
}

/// A host's place in a rollout: `canary: true` (its turn comes first) and `tier: N` (hosts take
/// their turn by tier, lowest first, after the canaries; hosts without a tier come last).
extension ManifestDecoder {
  static let rolloutHostFields = ["canary", "tier"]

  mutating func decodeRolloutMarks(_ f: ManifestFields, into spec: inout HostSpec, host name: String) {
    if let n = f["canary"] { spec.canary = bool(n, "'canary' of host '\(name)'") }
    if let n = f["tier"] { spec.tier = integer(n, "'tier' of host '\(name)'", in: 0...1000) }
  }
}

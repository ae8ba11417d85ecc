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

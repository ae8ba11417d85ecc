/// Which targets of the manifests a command acts on, decided in this one place: in local mode
/// only those of this machine, and of those the ones a `--target` pattern matches (all of
/// them when no pattern is given).
public struct TargetSelection: Sendable {
  /// The `--target` patterns; empty selects every reachable target.
  public var patterns: [TargetPattern]
  /// In local mode, the host names this machine answers to; nil when hosts are reached over
  /// SSH (every host is reachable).
  public var localHostNames: Set<String>?

  public init(patterns: [TargetPattern] = [], localHostNames: Set<String>? = nil) {
    self.patterns = patterns
    self.localHostNames = localHostNames
  }

  /// Whether this machine acts only on its own targets (local mode).
  public var isLocal: Bool { localHostNames != nil }

  /// The targets this machine can reach: in local mode those whose host is this machine, by
  /// the manifest's host name or its `hostname` setting; otherwise all of them.
  public func reachable(_ desired: DesiredState) -> DesiredState {
    guard let names = localHostNames else { return desired }
    var scoped = desired
    scoped.targets = desired.targets.filter { target in
      names.contains(target.id.host) || desired.hosts[target.id.host]?.hostname.map(names.contains) == true
    }
    return scoped
  }

  /// The reachable targets the patterns match.
  public func select(_ desired: DesiredState) -> DesiredState {
    var selected = reachable(desired)
    if !patterns.isEmpty {
      selected.targets = selected.targets.filter { target in patterns.contains { $0.matches(target.id) } }
    }
    return selected
  }

  /// The patterns that match no reachable target of `desired` (a typo, not an empty plan).
  public func unmatchedPatterns(in desired: DesiredState) -> [TargetPattern] {
    let targets = reachable(desired).targets
    return patterns.filter { pattern in !targets.contains { pattern.matches($0.id) } }
  }

  /// Why this machine must not apply `plan` (local mode: a target of another host), or nil.
  public func refusal(of plan: Plan) -> String? {
    guard let names = localHostNames else { return nil }
    // Strictly by the target's own host name: a plan file's host settings are not trusted here.
    let foreign = plan.targets.filter { !names.contains($0.id.host) }
    guard !foreign.isEmpty else { return nil }
    let list = foreign.map { "'\(LineChange.printable($0.id.description))'" }.joined(separator: ", ")
    return "the plan has targets of another host (\(list)) and this machine is "
      + names.sorted().map { "'\($0)'" }.joined(separator: " or ")
      + "; apply it on that host, or pass --host NAME if this machine is it"
  }
}

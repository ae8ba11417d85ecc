/// Planning with the sshd model: the model of every host is read first (one round trip per
/// host), ``ManagedFiles`` decides which files each target manages, then the planner runs as
/// usual on the managed targets and, with its empty-account guard left to this step, on the
/// swept ones.
extension Planner {
  /// Plans the targets of `desired` that `selection` selects through `transport`, using the
  /// sshd model `source` reads.
  public func plan(
    _ desired: DesiredState, transport: some Transport, sshd source: some SSHDModelSource,
    selection: TargetSelection = TargetSelection()
  ) async -> Plan {
    let scoped = selection.select(desired)
    var usersByHost: [String: Set<String>] = [:]
    for target in scoped.targets { usersByHost[target.id.host, default: []].insert(target.id.user) }
    let requests = usersByHost.keys.sorted().map {
      SSHDModelRequest(host: $0, users: usersByHost[$0]!.sorted(), loginUser: desired.hosts[$0]?.connectAs)
    }
    let results = requests.isEmpty ? [:] : await source.readSSHDModels(requests)
    var models: [String: SSHDModel] = [:]
    var modelErrors: [String: String] = [:]
    for (host, result) in results {
      switch result {
      case .success(let model): models[host] = model
      case .failure(let error): modelErrors[host] = error.description
      }
    }
    let resolution = ManagedFiles.resolve(scoped, models: models)
    let all = resolution.managed.targets + resolution.swept.map(\.target)
    // A host that could not be reached for its model is not tried a second time (one timeout
    // per hung host): its targets fail with that error.
    var unreachable: [String: TransportError] = [:]
    for (host, result) in results {
      if case .failure(let error) = result, error.step != .sshdModel { unreachable[host] = error }
    }
    let requestsToFetch = all.filter { unreachable[$0.id.host] == nil }.map {
      FetchRequest(id: $0.id, follow: $0.follow)
    }
    var observed = requestsToFetch.isEmpty ? [:] : await transport.fetch(requestsToFetch)
    for target in all { if let error = unreachable[target.id.host] { observed[target.id] = .failure(error) } }

    var main = plan(resolution.managed, observed: observed)
    var sweeper = options
    sweeper.allowEmpty = true
    sweeper.maxRemovals = Int.max
    let sweptState = DesiredState(
      targets: resolution.swept.map(\.target), hosts: desired.hosts, revoked: desired.revoked,
      protectedFingerprints: desired.protectedFingerprints)
    let sweptPlan = Planner(options: sweeper).plan(sweptState, observed: observed)
    let managedBy = Dictionary(
      resolution.swept.map { ($0.target.id, $0.managedBy) }, uniquingKeysWith: { a, _ in a })
    let declared = Dictionary(
      resolution.managed.targets.map { ($0.id, !$0.entries.isEmpty) }, uniquingKeysWith: { a, _ in a })

    var targets = main.targets.map { target -> TargetPlan in
      var target = target
      target.warnings = (resolution.warnings[target.id] ?? []) + target.warnings
      if let error = modelErrors[target.id.host], unreachable[target.id.host] == nil {
        target.warnings.insert(
          "the sshd model could not be read (\(error)); managing '\(target.id.path)' as the manifest says",
          at: 0)
      }
      return target
    }
    for var target in sweptPlan.targets {
      guard target.status != .unchanged || target.error != nil else { continue }
      let owner = managedBy[target.id]!
      target.changes = target.changes.map { change in
        var change = change
        if change.reason == "not in the manifests (exclusive mode)" {
          change.reason = "sshd also reads this file; keyward manages '\(owner.path)' (exclusive mode)"
        }
        return change
      }
      if target.status == .changes && target.count(.remove) > 0 && declared[owner] == false
        && !options.allowEmpty
      {
        target.status = .error
        target.error =
          "refusing to remove the keys sshd reads from '\(target.id.path)': the manifests declare no key for"
          + " '\(owner)', so the account would have none; pass --allow-empty if that is really meant"
      }
      targets.append(target)
    }
    main = Plan(targets: targets, hosts: main.hosts, errors: main.errors + sweptPlan.errors)
    let limit = options.maxRemovals ?? desired.maxRemovals
    if let limit, main.summary.remove > limit, !main.errors.contains(where: { $0.hasPrefix("plan removes") })
    {
      main.errors.append(
        "plan removes \(main.summary.remove) keys, more than the limit of \(limit); raise --max-removals on purpose to apply it"
      )
    }
    main.sshd = models
    return main
  }
}

import AuthorizedKeys

/// Access rules to targets: hosts x users x keys, with options merged and conflicts reported.
extension ManifestResolver {
  /// One target being assembled. Targets that only one rule reaches share that rule's arrays.
  private struct TargetBuilder {
    var id: TargetID
    var mode: ManagementMode
    var follow: Bool
    var outsideHome: Bool
    var rule: Int
    var entries: [DesiredEntry] = []
    /// Per entry: its key (index into `keys`), key material and where the rule names it.
    var origins: [Origin] = []
    /// Entry positions by key material; built when a second rule reaches the target.
    var byMaterial: [Int: [Int]]?
  }

  private struct Origin {
    var keyIndex: Int
    var material: Int
    var reference: SourceLocation
  }

  /// One key a rule grants, before it is placed on targets.
  private struct Grant {
    var keyIndex: Int
    var material: Int
    var entry: DesiredEntry
    var reference: SourceLocation
  }

  mutating func resolveAccess() -> [DesiredTarget] {
    var builders: [TargetBuilder] = []
    var index: [TargetID: Int] = [:]
    var reported: Set<[Int]> = []
    for (ruleNumber, rule) in manifest.access.enumerated() {
      let hostNames = ruleHosts(rule)
      var users: [String] = []
      for user in rule.users where !users.contains(user.value) { users.append(user.value) }
      let grants = ruleGrants(rule)
      let mode = rule.mode ?? manifest.defaults.mode?.value ?? .exclusive
      let follow = rule.follow ?? manifest.defaults.follow?.value ?? false
      let path = rule.path?.value ?? manifest.defaults.path?.value ?? ".ssh/authorized_keys"
      let outsideHome = rule.outsideHome ?? false
      if !outsideHome && !PathConfinement.isInsideHome(path),
        let pathLocation = rule.path?.location ?? manifest.defaults.path?.location
      {
        diagnostics.error(
          .pathOutsideHome,
          "\(rule.name) manages '\(path)', which is outside the users' homes; write it relative to the"
            + " home (or as '%h/...'), or set 'outside_home: true' on the rule if that is really meant",
          at: pathLocation,
          notes: rule.path == nil ? [Diagnostic.Note("\(rule.name) is here", at: rule.location)] : [])
      }
      guard let firstUser = users.first, let firstHost = hostNames.first else { continue }
      // The rule's entries, checked once among themselves, then shared by its targets.
      var prepared = TargetBuilder(
        id: TargetID(user: firstUser, host: firstHost, path: Self.expand(path, user: firstUser)), mode: mode,
        follow: follow, outsideHome: outsideHome, rule: ruleNumber)
      for grant in grants { add(grant, to: &prepared, rule: ruleNumber, reported: &reported) }
      for user in users {
        let userPath = Self.expand(path, user: user)
        for host in hostNames {
          let id = TargetID(user: user, host: host, path: userPath)
          let position: Int
          if let existing = index[id] {
            position = existing
            let first = builders[position]
            if first.mode != mode || first.follow != follow || first.outsideHome != outsideHome,
              reported.insert([-1, first.rule, ruleNumber]).inserted
            {
              let firstRule = manifest.access[first.rule]
              let what =
                first.mode != mode
                ? "mode '\(mode.rawValue)' but \(firstRule.name) makes it '\(first.mode.rawValue)'"
                : first.follow != follow
                  ? "'follow: \(follow)' but \(firstRule.name) sets 'follow: \(first.follow)'"
                  : "'outside_home: \(outsideHome)' but \(firstRule.name) sets 'outside_home: \(first.outsideHome)'"
              diagnostics.error(
                .conflictingTarget, "\(rule.name) gives target '\(id)' \(what)", at: rule.location,
                notes: [Diagnostic.Note("\(firstRule.name) is here", at: firstRule.location)])
            }
          } else {
            position = builders.count
            index[id] = position
            var builder = TargetBuilder(
              id: id, mode: mode, follow: follow, outsideHome: outsideHome, rule: ruleNumber)
            builder.entries = prepared.entries
            builder.origins = prepared.origins
            builders.append(builder)
            continue
          }
          for (entry, origin) in zip(prepared.entries, prepared.origins) {
            add(
              Grant(
                keyIndex: origin.keyIndex, material: origin.material, entry: entry,
                reference: origin.reference), to: &builders[position], rule: ruleNumber, reported: &reported)
          }
        }
      }
    }
    return builders.map {
      DesiredTarget(
        id: $0.id, mode: $0.mode, entries: $0.entries, follow: $0.follow, allowOutsideHome: $0.outsideHome,
        actAsRoot: hostActsAsRoot($0.id.host))
    }
  }

  /// The host's `act_as_root`, or the defaults'.
  private func hostActsAsRoot(_ host: String) -> Bool {
    hosts[host]?.spec.actAsRoot ?? manifest.defaults.actAsRoot?.value ?? false
  }

  /// `%u` becomes the user, so each user's target has its own path; every other token (`%h`,
  /// `%U`, `%%`) stays as written for `TargetID.absolutePath`, which expands them once. (Turning
  /// `%%` into `%` here made `%%u` the user's name there.)
  static func expand(_ path: String, user: String) -> String {
    PathTokens.substitute(path) { token in
      switch token {
      case "u": user
      case "%": "%%"
      default: nil
      }
    }
  }

  private mutating func ruleHosts(_ rule: Manifest.Rule) -> [String] {
    var result: [String] = []
    var seen: Set<String> = []
    for name in rule.hosts {
      var found: [String] = []
      if name.value == "*" {
        found = manifest.hosts.map(\.spec.name)
      } else if hosts[name.value] != nil {
        found = [name.value]
      } else if hostGroups[name.value] != nil {
        found = expandHostGroup(name.value, chain: [])
      } else {
        undefinedHost(name, in: "\(rule.name)")
      }
      for host in found where seen.insert(host).inserted { result.append(host) }
    }
    return result
  }

  /// The keys a rule grants, each as the entry it writes, with the rule's options merged in.
  private mutating func ruleGrants(_ rule: Manifest.Rule) -> [Grant] {
    var grants: [Grant] = []
    var seen: Set<Int> = []
    for name in rule.keys {
      var found: [Int] = []
      if let indices = keysByName[name.value] {
        found = indices
      } else if groups[name.value] != nil {
        found = expandGroup(name.value, chain: [])
      } else {
        undefinedKey(name, in: "\(rule.name)")
      }
      for keyIndex in found where seen.insert(keyIndex).inserted {
        let key = keys[keyIndex]
        let material = materialOf[keyIndex]
        if let revoked = revokedMaterial[material] {
          let revocation = revocations[revoked]
          diagnostics.error(
            .revokedKeyGranted,
            "\(rule.name) grants key '\(key.name)', which is revoked (\(revocation.reason))",
            at: name.location,
            notes: [
              Diagnostic.Note("revoked here", at: revocation.location),
              Diagnostic.Note("key '\(key.name)' defined here", at: key.location),
            ])
          continue
        }
        guard let options = mergedOptions(key, rule) else { continue }
        let entry = DesiredEntry(
          keyName: key.name, key: key.key, options: options, comment: key.comment,
          expires: key.expires?.value,
          isProtected: key.isProtected, rule: rule.name, ruleLocation: rule.location, definition: key.location
        )
        grants.append(Grant(keyIndex: keyIndex, material: material, entry: entry, reference: name.location))
      }
    }
    return grants
  }

  /// The key's options followed by the rule's; the same option with two values is an error
  /// unless sshd allows it several times (`permitopen`, `permitlisten`, `environment`).
  private mutating func mergedOptions(_ key: Manifest.Key, _ rule: Manifest.Rule) -> [KeyOption]? {
    var options = key.options
    for option in rule.options {
      let name = option.name.lowercased()
      let same = options.filter { $0.name.lowercased() == name }
      if same.contains(option) { continue }
      if same.isEmpty || KeyOptionTable.isRepeatable(name) {
        options.append(option)
        continue
      }
      diagnostics.error(
        .conflictingOptions,
        "\(rule.name) sets option '\(option.name)' to '\(option.value ?? "")' but key '\(key.name)' sets it to '\(same[0].value ?? "")'",
        at: rule.optionsLocation ?? rule.location,
        notes: [Diagnostic.Note("key '\(key.name)' defined here", at: key.location)])
      return nil
    }
    if let problem = OptionRules.problem(options) {
      diagnostics.error(
        .invalidOption, "key '\(key.name)' in \(rule.name): \(problem)",
        at: rule.optionsLocation ?? key.location)
      return nil
    }
    return options
  }

  /// Adds a grant to a target. The same key twice with the same options is one entry; with
  /// different options it is two entries only when one key name lists both on purpose.
  private mutating func add(
    _ grant: Grant, to target: inout TargetBuilder, rule: Int, reported: inout Set<[Int]>
  ) {
    if target.byMaterial == nil {
      var index: [Int: [Int]] = [:]
      for (position, origin) in target.origins.enumerated() {
        index[origin.material, default: []].append(position)
      }
      target.byMaterial = index
    }
    let existing = target.byMaterial?[grant.material] ?? []
    if existing.contains(where: { target.entries[$0].options == grant.entry.options }) { return }
    for position in existing {
      let other = target.entries[position]
      let otherKey = target.origins[position].keyIndex
      // Another line of the same name: the name lists the key twice on purpose.
      if otherKey != grant.keyIndex && keys[otherKey].name == keys[grant.keyIndex].name { continue }
      if reported.insert([otherKey, grant.keyIndex, rule]).inserted {
        let otherOptions = other.options.isEmpty ? "no options" : "'\(KeyCodec.render(other.options))'"
        let options = grant.entry.options.isEmpty ? "no options" : "'\(KeyCodec.render(grant.entry.options))'"

        diagnostics.error(
          .conflictingOptions,
          "key '\(grant.entry.keyName)' lands on '\(target.id)' twice with different options "
            + "(\(options) here, \(otherOptions) from \(other.rule)); make the options agree, "
            + "or list the key twice under one name to mean two entries",
          at: grant.reference,
          notes: [
            Diagnostic.Note("\(other.rule) grants it here", at: other.ruleLocation),
            Diagnostic.Note("'\(other.keyName)' defined here", at: other.definition),
          ])
      }
      return
    }
    target.byMaterial?[grant.material, default: []].append(target.entries.count)
    target.entries.append(grant.entry)
    target.origins.append(
      Origin(keyIndex: grant.keyIndex, material: grant.material, reference: grant.reference))
  }
}

import AuthorizedKeys
import Foundation

/// Resolves a merged `Manifest` into a `DesiredState`: names to keys and hosts, access rules to
/// targets, with every conflict reported. Pure: no I/O.
struct ManifestResolver {
  /// The types allowed when `policy.allowed_types` is not set: everything but DSA.
  static let defaultAllowedTypes = ManifestDecoder.keyTypes.filter { $0 != "ssh-dss" }
  static let defaultMinRSABits = 2048

  let manifest: Manifest
  let now: Date
  var diagnostics = Diagnostics()

  /// Every key under every name, flattened; `Manifest.Key` plus its material id.
  var keys: [Manifest.Key] = []
  var materialOf: [Int] = []
  var keysByName: [String: [Int]] = [:]
  var keyDefinitions: [String: Manifest.KeyDefinition] = [:]
  var groups: [String: Manifest.Group] = [:]
  var expandedGroups: [String: [Int]] = [:]
  var hosts: [String: Manifest.Host] = [:]
  var hostGroups: [String: Manifest.Group] = [:]
  var expandedHostGroups: [String: [String]] = [:]
  /// Undefined names already reported, by place: a list reached through many aliases is
  /// reported once, not once per alias (which let a 17 KB manifest make a million messages).
  var reportedUndefined: Set<SourceLocation> = []
  /// "Did you mean" hints left to compute (each compares with every name): bounded work.
  var hintsLeft = 200
  /// Material id -> index into `revocations`.
  var revokedMaterial: [Int: Int] = [:]
  var revocations: [Revocation] = []

  init(manifest: Manifest, now: Date) {
    self.manifest = manifest
    self.now = now
  }

  mutating func resolve() -> DesiredState {
    defineNames()
    checkKeys()
    for name in groups.keys.sorted() { _ = expandGroup(name, chain: []) }
    for name in hostGroups.keys.sorted() { _ = expandHostGroup(name, chain: []) }
    checkJumps()
    resolveRevocations()
    let targets = resolveAccess()
    var specs: [String: HostSpec] = [:]
    let defaults = manifest.defaults
    for (name, host) in hosts {
      var spec = host.spec
      spec.port = spec.port ?? defaults.port?.value
      spec.connectAs = spec.connectAs ?? defaults.connectAs?.value
      spec.knownHosts = spec.knownHosts ?? defaults.knownHosts?.value
      spec.actAsRoot = spec.actAsRoot ?? defaults.actAsRoot?.value
      spec.transport = spec.transport ?? defaults.transport?.value
      specs[name] = spec
    }
    var protected: Set<String> = []
    for key in keys where key.isProtected { protected.insert(key.key.fingerprint) }
    var names: [String: String] = [:]
    for key in keys where names[key.key.fingerprint] == nil { names[key.key.fingerprint] = key.name }
    var state = DesiredState(
      targets: targets, hosts: specs, revoked: revocations, protectedFingerprints: protected,
      maxRemovals: manifest.policy.maxRemovals?.value,
      policy: KeyPolicy(
        allowedTypes: manifest.policy.allowedTypes?.value ?? Self.defaultAllowedTypes,
        minRSABits: manifest.policy.minRSABits?.value ?? Self.defaultMinRSABits),
      keyNames: names)
    state.rollout = manifest.rollout?.value
    return state
  }

  // MARK: - Names

  private mutating func defineNames() {
    var firstRuleNames: [String: SourceLocation] = [:]
    for rule in manifest.access where !rule.name.hasPrefix("access[") {
      if let first = firstRuleNames[rule.name] {
        duplicate("access rule '\(rule.name)'", at: rule.location, first: first)
      } else {
        firstRuleNames[rule.name] = rule.location
      }
    }
    var materialIDs: [PublicKey: Int] = [:]
    for definition in manifest.keys {
      if let first = keyDefinitions[definition.name] {
        duplicate("key '\(definition.name)'", at: definition.location, first: first.location)
        continue
      }
      keyDefinitions[definition.name] = definition
      // Defined even when it holds no key (a remote source pinned empty with `allow_empty`).
      if keysByName[definition.name] == nil { keysByName[definition.name] = [] }
      for key in definition.keys {
        let material = materialIDs[key.key] ?? materialIDs.count
        materialIDs[key.key] = material
        keysByName[key.name, default: []].append(keys.count)
        keys.append(key)
        materialOf.append(material)
      }
    }
    for group in manifest.groups {
      if let first = groups[group.name] {
        duplicate("group '\(group.name)'", at: group.location, first: first.location)
      } else if let key = keyDefinitions[group.name] {
        diagnostics.error(
          .duplicateDefinition,
          "group '\(group.name)' has the same name as a key; names of keys and groups must differ",
          at: group.location, notes: [Diagnostic.Note("key '\(group.name)' defined here", at: key.location)])
      } else {
        groups[group.name] = group
      }
    }
    for host in manifest.hosts {
      if let first = hosts[host.spec.name] {
        duplicate("host '\(host.spec.name)'", at: host.location, first: first.location)
      } else {
        hosts[host.spec.name] = host
      }
    }
    for group in manifest.hostGroups {
      if let first = hostGroups[group.name] {
        duplicate("host group '\(group.name)'", at: group.location, first: first.location)
      } else if let host = hosts[group.name] {
        diagnostics.error(
          .duplicateDefinition,
          "host group '\(group.name)' has the same name as a host; names of hosts and host groups must differ",
          at: group.location, notes: [Diagnostic.Note("host '\(group.name)' defined here", at: host.location)]
        )
      } else {
        hostGroups[group.name] = group
      }
    }
  }

  private mutating func duplicate(_ what: String, at location: SourceLocation, first: SourceLocation) {
    diagnostics.error(
      .duplicateDefinition, "\(what) is defined twice", at: location,
      notes: [Diagnostic.Note("first defined here", at: first)])
  }

  // MARK: - Keys and policy

  private mutating func checkKeys() {
    let allowed = manifest.policy.allowedTypes
    let allowedTypes = allowed?.value ?? Self.defaultAllowedTypes
    let minimumBits = manifest.policy.minRSABits?.value ?? Self.defaultMinRSABits
    var firstByMaterial: [Int: Int] = [:]
    var reportedExpiry: Set<SourceLocation> = []
    for (index, key) in keys.enumerated() {
      let facts = KeyCodec.facts(key.key)
      if facts.type == "ssh-dss" && !allowedTypes.contains("ssh-dss") {
        diagnostics.error(
          .disallowedKeyType,
          "key '\(key.name)' is a DSA key ('ssh-dss'), refused by default: OpenSSH 9.8 and later no longer accept DSA; "
            + "replace it, or add 'ssh-dss' to 'policy.allowed_types'",
          at: key.location)
      } else if !allowedTypes.contains(facts.type) {
        diagnostics.error(
          .disallowedKeyType,
          "key '\(key.name)' has type '\(facts.type)', which 'policy.allowed_types' does not allow",
          at: key.location,
          notes: allowed.map { [Diagnostic.Note("the allowed types are set here", at: $0.location)] } ?? [])
      }
      if facts.type == "ssh-rsa", let bits = facts.bits, bits < minimumBits {
        diagnostics.error(
          .weakKey,
          "key '\(key.name)' is a \(bits)-bit RSA key; 'policy.min_rsa_bits' requires at least \(minimumBits)",
          at: key.location,
          notes: manifest.policy.minRSABits.map {
            [Diagnostic.Note("the minimum is set here", at: $0.location)]
          } ?? [])
      }
      if let expires = key.expires, expires.value <= now, !reportedExpiry.contains(expires.location) {
        reportedExpiry.insert(expires.location)
        diagnostics.warning(
          .keyExpired,
          "key '\(key.name)' expired on \(UTCTime.day(expires.value)); plans remove it from every target",
          at: expires.location)
      }
      let material = materialOf[index]
      if let first = firstByMaterial[material] {
        let other = keys[first]
        if other.name != key.name {
          diagnostics.warning(
            .keyReused, "key '\(key.name)' is the same key as '\(other.name)'", at: key.location,
            notes: [Diagnostic.Note("'\(other.name)' defines it here", at: other.location)])
        } else if other.options == key.options {
          diagnostics.warning(
            .keyReused, "key '\(key.name)' lists the same key twice with the same options", at: key.location,
            notes: [Diagnostic.Note("first listed here", at: other.location)])
        }
      } else {
        firstByMaterial[material] = index
      }
    }
  }

  // MARK: - Groups

  /// Keys of a group (indices into `keys`), members expanded in order, without repeats.
  mutating func expandGroup(_ name: String, chain: [String]) -> [Int] {
    if let done = expandedGroups[name] { return done }
    guard let group = groups[name] else { return [] }
    var result: [Int] = []
    var seen: Set<Int> = []
    for member in group.members {
      var found: [Int] = []
      if let indices = keysByName[member.value] {
        found = indices
      } else if groups[member.value] != nil {
        if member.value == name || chain.contains(member.value) {
          let loop = (chain + [name, member.value]).drop { $0 != member.value }
          diagnostics.error(
            .cycle, "group '\(name)' contains itself: \(loop.map { "'\($0)'" }.joined(separator: " -> "))",
            at: member.location)
          continue
        }
        found = expandGroup(member.value, chain: chain + [name])
      } else {
        undefinedKey(member, in: "group '\(name)'")
      }
      for index in found where seen.insert(index).inserted { result.append(index) }
    }
    expandedGroups[name] = result
    return result
  }

  mutating func undefinedKey(_ name: Located<String>, in owner: String) {
    // A defined key none of whose sources could be read is already reported where it is defined.
    guard keyDefinitions[name.value] == nil, reportedUndefined.insert(name.location).inserted else { return }
    let hint =
      takeHint()
      ? Suggestion.hint(for: name.value, in: (Array(keyDefinitions.keys) + Array(groups.keys)).sorted()) : ""
    diagnostics.error(
      .undefinedKey,
      "\(owner) names '\(name.value)', which is not a defined key or group" + hint,
      at: name.location)
  }

  /// Whether a "did you mean" hint may still be computed (the hint budget).
  mutating func takeHint() -> Bool {
    guard hintsLeft > 0 else { return false }
    hintsLeft -= 1
    return true
  }

  mutating func expandHostGroup(_ name: String, chain: [String]) -> [String] {
    if let done = expandedHostGroups[name] { return done }
    guard let group = hostGroups[name] else { return [] }
    var result: [String] = []
    var seen: Set<String> = []
    for member in group.members {
      var found: [String] = []
      if hosts[member.value] != nil {
        found = [member.value]
      } else if hostGroups[member.value] != nil {
        if member.value == name || chain.contains(member.value) {
          let loop = (chain + [name, member.value]).drop { $0 != member.value }
          diagnostics.error(
            .cycle,
            "host group '\(name)' contains itself: \(loop.map { "'\($0)'" }.joined(separator: " -> "))",
            at: member.location)
          continue
        }
        found = expandHostGroup(member.value, chain: chain + [name])
      } else if member.value == "*" {
        found = manifest.hosts.map(\.spec.name)
      } else {
        undefinedHost(member, in: "host group '\(name)'")
      }
      for host in found where seen.insert(host).inserted { result.append(host) }
    }
    expandedHostGroups[name] = result
    return result
  }

  mutating func undefinedHost(_ name: Located<String>, in owner: String) {
    guard reportedUndefined.insert(name.location).inserted else { return }
    let hint =
      takeHint()
      ? Suggestion.hint(for: name.value, in: (Array(hosts.keys) + Array(hostGroups.keys)).sorted()) : ""
    diagnostics.error(
      .undefinedHost,
      "\(owner) names '\(name.value)', which is not a defined host or host group" + hint,
      at: name.location)
  }

  /// A jump host named in the manifest must not lead back to itself.
  private mutating func checkJumps() {
    for host in manifest.hosts {
      guard let location = host.jumpLocation else { continue }
      var chain = [host.spec.name]
      var current = host.spec.jump
      while let next = current, let target = hosts[next] {
        if chain.contains(next) {
          diagnostics.error(
            .cycle,
            "the jump hosts of '\(host.spec.name)' loop: \((chain + [next]).map { "'\($0)'" }.joined(separator: " -> "))",
            at: location)
          break
        }
        chain.append(next)
        current = target.spec.jump
      }
    }
  }

  // MARK: - Revocations

  private mutating func resolveRevocations() {
    var byFingerprint: [String: Int] = [:]
    for (index, key) in keys.enumerated() where byFingerprint[key.key.fingerprint] == nil {
      byFingerprint[key.key.fingerprint] = index
    }
    for entry in manifest.revoked {
      var revoked: [(fingerprint: String, name: String?, index: Int?)] = []
      switch entry.key {
      case .fingerprint(let fingerprint):
        let index = byFingerprint[fingerprint]
        revoked = [(fingerprint, index.map { keys[$0].name }, index)]
      case .key(let key):
        let index = byFingerprint[key.fingerprint]
        revoked = [(key.fingerprint, index.map { keys[$0].name }, index)]
      case .name(let name):
        guard let indices = keysByName[name] else {
          let hint = takeHint() ? Suggestion.hint(for: name, in: keyDefinitions.keys.sorted()) : ""
          diagnostics.error(
            .undefinedKey,
            "revoked key '\(name)' is not a defined key" + hint,
            at: entry.keyLocation)
          continue
        }
        revoked = indices.map { (keys[$0].key.fingerprint, name, $0) }
      }
      for item in revoked {
        let revocation = Revocation(
          fingerprint: item.fingerprint, keyName: item.name, reason: entry.reason, location: entry.location)
        if let index = item.index {
          let material = materialOf[index]
          if revokedMaterial[material] == nil { revokedMaterial[material] = revocations.count }
          for other in keys.indices where materialOf[other] == material && keys[other].isProtected {
            diagnostics.error(
              .revokedKeyProtected,
              "key '\(keys[other].name)' is revoked but marked protected; a protected key cannot be removed",
              at: entry.keyLocation,
              notes: [Diagnostic.Note("marked protected here", at: keys[other].location)])
          }
        }
        revocations.append(revocation)
      }
    }
  }
}

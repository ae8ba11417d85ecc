import AuthorizedKeys
import Foundation

/// Decodes one manifest file's YAML tree into `Manifest` parts, collecting every problem.
///
/// Types are decided here, by field: text stays text; booleans are only plain `true`/`false`;
/// numbers only plain decimal digits; null only where a field allows it.
struct ManifestDecoder {
  static let topFields = [
    "version", "defaults", "policy", "keys", "groups", "hosts", "host_groups", "access", "revoked",
    "rollout",
  ]
  static let defaultsFields = [
    "mode", "path", "port", "connect_as", "known_hosts", "follow", "act_as_root", "transport",
  ]
  static let policyFields = ["allowed_types", "min_rsa_bits", "max_removals"]
  static let keyFields = ["key", "file", "options", "expires", "protected", "comment"]
  static let hostFields =
    ["hostname", "port", "connect_as", "jump", "known_hosts", "act_as_root", "transport"] + rolloutHostFields
  static let ruleFields = [
    "name", "hosts", "users", "keys", "mode", "options", "path", "follow", "outside_home",
  ]
  static let revokedFields = ["fingerprint", "key", "file", "reason"]
  /// The key types `policy.allowed_types` may name.
  static let keyTypes = [
    "ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-rsa", "ssh-dss",
  ]
  static let yaml11Booleans: Set<String> = ["yes", "no", "on", "off", "y", "n"]

  let document: YAMLDocument
  /// The index the first access rule of this file gets (`access[i]` counts across files).
  let ruleOffset: Int
  var diagnostics = Diagnostics()
  var manifest = Manifest()
  /// Reads `file:` key sources (confined to the manifest's directory and the allowed roots).
  var keyFiles = KeyFileReader()
  /// The pins remote key sources take their keys from (`ManifestDecoder+Sources.swift`).
  var lock: LockFile?
  /// When false (for `keyward lock`), remote sources are only listed, not looked up in the lock.
  var requiresLock = true

  init(document: YAMLDocument, ruleOffset: Int) {
    self.document = document
    self.ruleOffset = ruleOffset
    manifest.files = [document.file]
  }

  func location(_ node: YAMLNode) -> SourceLocation { document.location(of: node) }

  // MARK: - Top level

  mutating func decode() {
    guard let root = document.root else {
      diagnostics.error(
        .missingField, "the manifest is empty; it needs at least 'version: 1'",
        at: SourceLocation(file: document.file, line: 1, column: 1))
      return
    }
    guard let top = fields(root, of: "the manifest", allowed: Self.topFields, required: ["version"]) else {
      return
    }
    if let node = top["version"], let version = integer(node, "'version'", in: 0...Int.max),
      version != 1
    {
      diagnostics.error(
        .unsupportedVersion, "manifest version '\(version)' is not supported; this keyward reads version 1",
        at: location(node))
    }
    if let node = top["defaults"] { decodeDefaults(node) }
    if let node = top["policy"] { decodePolicy(node) }
    if let node = top["keys"] { decodeKeys(node) }
    if let node = top["groups"] { manifest.groups = decodeGroups(node, section: "groups", member: "key") }
    if let node = top["hosts"] { decodeHosts(node) }
    if let node = top["host_groups"] {
      manifest.hostGroups = decodeGroups(node, section: "host_groups", member: "host")
    }
    if let node = top["access"] { decodeAccess(node) }
    if let node = top["revoked"] { decodeRevoked(node) }
    if let node = top["rollout"] { decodeRollout(node) }
  }

  private mutating func decodeDefaults(_ node: YAMLNode) {
    guard let f = fields(node, of: "'defaults'", allowed: Self.defaultsFields) else { return }
    var defaults = Manifest.Defaults()
    if let n = f["mode"], let mode = mode(n, "'defaults.mode'") {
      defaults.mode = Located(mode, at: location(n))
    }
    if let n = f["path"], let path = path(n, "'defaults.path'") {
      defaults.path = Located(path, at: location(n))
    }
    if let n = f["port"], let port = integer(n, "'defaults.port'", in: 1...65535) {
      defaults.port = Located(port, at: location(n))
    }
    if let n = f["connect_as"], let user = userName(n, "'defaults.connect_as'") {
      defaults.connectAs = Located(user, at: location(n))
    }
    if let n = f["known_hosts"], let file = text(n, "'defaults.known_hosts'") {
      defaults.knownHosts = Located(file, at: location(n))
    }
    if let n = f["follow"], let follow = bool(n, "'defaults.follow'") {
      defaults.follow = Located(follow, at: location(n))
    }
    if let n = f["act_as_root"], let value = bool(n, "'defaults.act_as_root'") {
      defaults.actAsRoot = Located(value, at: location(n))
    }
    if let n = f["transport"], let kind = transportKind(n, "'defaults.transport'") {
      defaults.transport = Located(kind, at: location(n))
    }
    manifest.defaults = defaults
  }

  private mutating func decodePolicy(_ node: YAMLNode) {
    guard let f = fields(node, of: "'policy'", allowed: Self.policyFields) else { return }
    if let n = f["allowed_types"], let types = names(n, "'policy.allowed_types'") {
      for type in types where !Self.keyTypes.contains(type.value) {
        diagnostics.error(
          .invalidValue,
          "unknown key type '\(type.value)' in 'policy.allowed_types'"
            + Suggestion.hint(for: type.value, in: Self.keyTypes),
          at: type.location)
      }
      manifest.policy.allowedTypes = Located(types.map(\.value), at: location(n))
    }
    if let n = f["min_rsa_bits"], let bits = integer(n, "'policy.min_rsa_bits'", in: 1024...16384) {
      manifest.policy.minRSABits = Located(bits, at: location(n))
    }
    if let n = f["max_removals"], let count = integer(n, "'policy.max_removals'", in: 0...Int.max) {
      manifest.policy.maxRemovals = Located(count, at: location(n))
    }
  }

  // MARK: - Groups and hosts

  private mutating func decodeGroups(_ node: YAMLNode, section name: String, member: String) -> [Manifest
    .Group]
  {
    guard let pairs = section(node, name) else { return [] }
    var groups: [Manifest.Group] = []
    let kind = member == "key" ? "group" : "host group"
    for pair in pairs {
      guard let groupName = checkedName(pair.key, kind: "\(kind) name") else { continue }
      let members = names(pair.value, "\(kind) '\(groupName)'") ?? []
      groups.append(Manifest.Group(name: groupName, location: location(pair.key), members: members))
    }
    return groups
  }

  private mutating func decodeHosts(_ node: YAMLNode) {
    guard let pairs = section(node, "hosts") else { return }
    for pair in pairs {
      guard let name = checkedName(pair.key, kind: "host name") else { continue }
      var host = Manifest.Host(
        spec: HostSpec(name: name, location: location(pair.key)), location: location(pair.key))
      if let f = fields(pair.value, of: "host '\(name)'", allowed: Self.hostFields) {
        if let n = f["hostname"], let value = text(n, "'hostname' of host '\(name)'") {
          if value.isEmpty || value.contains(where: { $0.isWhitespace }) {
            diagnostics.error(
              .invalidValue, "hostname '\(value)' of host '\(name)' is not a host name or address",
              at: location(n))
          }
          host.spec.hostname = value
        }
        if let n = f["port"], let port = integer(n, "'port' of host '\(name)'", in: 1...65535) {
          host.spec.port = port
        }
        if let n = f["connect_as"], let user = userName(n, "'connect_as' of host '\(name)'") {
          host.spec.connectAs = user
        }
        if let n = f["jump"], let jump = text(n, "'jump' of host '\(name)'") {
          host.spec.jump = jump
          host.jumpLocation = location(n)
        }
        if let n = f["known_hosts"], let file = text(n, "'known_hosts' of host '\(name)'") {
          host.spec.knownHosts = file
        }
        if let n = f["act_as_root"] { host.spec.actAsRoot = bool(n, "'act_as_root' of host '\(name)'") }
        if let n = f["transport"] { host.spec.transport = transportKind(n, "'transport' of host '\(name)'") }
        decodeRolloutMarks(f, into: &host.spec, host: name)
      }
      manifest.hosts.append(host)
    }
  }

  // MARK: - Access rules and revocations

  private mutating func decodeAccess(_ node: YAMLNode) {
    guard let items = list(node, "'access'") else { return }
    for (offset, item) in items.enumerated() {
      let index = ruleOffset + offset
      var rule = Manifest.Rule(
        name: "access[\(index)]", location: location(item), hosts: [], users: [], keys: [], options: [])
      guard
        let f = fields(
          item, of: "access rule access[\(index)]", allowed: Self.ruleFields,
          required: ["hosts", "users", "keys"])
      else { continue }
      if let n = f["name"], let name = checkedName(n, kind: "rule name") { rule.name = name }
      let what = "access rule '\(rule.name)'"
      if let n = f["hosts"] { rule.hosts = names(n, "'hosts' of \(what)") ?? [] }
      if let n = f["users"] {
        rule.users = names(n, "'users' of \(what)") ?? []
        for user in rule.users { _ = checkUser(user.value, at: user.location) }
      }
      if let n = f["keys"] { rule.keys = names(n, "'keys' of \(what)", allowEmpty: true) ?? [] }
      if let n = f["mode"] { rule.mode = mode(n, "'mode' of \(what)") }
      if let n = f["options"], let options = options(n, what) {
        rule.options = options
        rule.optionsLocation = location(n)
      }
      if let n = f["path"], let path = path(n, "'path' of \(what)") {
        rule.path = Located(path, at: location(n))
      }
      if let n = f["follow"] { rule.follow = bool(n, "'follow' of \(what)") }
      if let n = f["outside_home"] { rule.outsideHome = bool(n, "'outside_home' of \(what)") }
      manifest.access.append(rule)
    }
  }

  private mutating func decodeRevoked(_ node: YAMLNode) {
    guard let items = list(node, "'revoked'") else { return }
    for (index, item) in items.enumerated() {
      let what = "revoked entry \(index + 1)"
      guard let f = fields(item, of: what, allowed: Self.revokedFields, required: ["reason"]) else {
        continue
      }
      let given = ["fingerprint", "key", "file"].filter { f[$0] != nil }
      guard given.count == 1, let field = given.first, let valueNode = f[field] else {
        diagnostics.error(
          given.isEmpty ? .missingField : .invalidValue,
          "\(what) needs exactly one of 'fingerprint', 'key' (a name or key text) or 'file'",
          at: location(item))
        continue
      }
      guard let value = text(valueNode, "'\(field)' of \(what)"),
        let reason = f["reason"].flatMap({ text($0, "'reason' of \(what)") })
      else { continue }
      let here = location(valueNode)
      var keys: [Manifest.RevokedKey] = []
      switch field {
      case "fingerprint":
        guard Self.isSHA256Fingerprint(value) else {
          diagnostics.error(
            .invalidValue,
            "'\(value)' is not a SHA256 fingerprint; write it as 'ssh-keygen -lf KEY.pub' prints it (SHA256:...)",
            at: here)
          continue
        }
        keys = [.fingerprint(value)]
      case "file":
        keys = readKeyFile(value, at: here, owner: what).map { .key($0.key) }
      default:
        if value.contains(where: \.isWhitespace) {
          if let key = parseKey(value, at: here, owner: what) { keys = [.key(key.key)] }
        } else {
          keys = [.name(value)]
        }
      }
      for key in keys {
        manifest.revoked.append(
          Manifest.Revoked(key: key, keyLocation: here, reason: reason, location: location(item)))
      }
    }
  }

  static func isSHA256Fingerprint(_ text: String) -> Bool {
    guard text.hasPrefix("SHA256:") else { return false }
    let body = text.dropFirst(7)
    return body.count == 43
      && body.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }
  }
}

import AuthorizedKeys
import Foundation

/// Who gains and who loses which access between two versions of the manifests, from the
/// manifests alone: no host is contacted. For reviewers who cannot reach production.
///
/// Access is a key's material on a target (`user@host` and file) with its options: renaming
/// a key changes nothing, a group change fans out to every target it reaches. Large grants
/// (root on many hosts, a key on every host) are flagged.
public struct AccessDiff: Hashable, Sendable, Codable {
  /// What changed for one key on one target.
  public enum Kind: String, Hashable, Sendable, Codable {
    /// The key can now log in there.
    case grant
    /// The key can no longer log in there.
    case revoke
    /// Still granted, with other options (`command=`, `from=`, `expiry-time=`, ...).
    case options
  }

  /// One change of access.
  public struct Change: Hashable, Sendable, Codable {
    public var kind: Kind
    public var keyName: String
    public var fingerprint: String
    /// `user@host` (with `:path` when not the default).
    public var target: String
    public var user: String
    public var host: String
    public var oldOptions: String?
    public var newOptions: String?
  }

  /// Every change of one key, with why it deserves a closer look.
  public struct KeyChanges: Hashable, Sendable, Codable {
    public var keyName: String
    public var fingerprint: String
    public var gains: [String]
    public var losses: [String]
    public var optionChanges: [String]
    /// Reasons this key's grants are large (empty: nothing to flag).
    public var large: [String]
  }

  /// A key gaining root on this many hosts or more is flagged.
  public static let rootHostsFlag = 3
  /// A key gaining this many targets or more in one change is flagged.
  public static let targetsFlag = 20

  public var changes: [Change]
  public var keys: [KeyChanges]

  /// `old` and `new` are the two resolved manifests.
  public init(old: DesiredState, new: DesiredState) {
    struct Grant {
      var name: String
      var options: String
    }
    func grants(_ state: DesiredState) -> [TargetID: [String: Grant]] {
      var out: [TargetID: [String: Grant]] = [:]
      for target in state.targets {
        var byKey: [String: Grant] = [:]
        for entry in target.entries where byKey[entry.key.fingerprint] == nil {
          byKey[entry.key.fingerprint] = Grant(name: entry.keyName, options: KeyOptions.render(entry.options))
        }
        out[target.id] = byKey
      }
      return out
    }
    let before = grants(old)
    let after = grants(new)
    var changes: [Change] = []
    for id in Set(before.keys).union(after.keys).sorted() {
      let was = before[id] ?? [:]
      let now = after[id] ?? [:]
      for fingerprint in Set(was.keys).union(now.keys).sorted() {
        func change(_ kind: Kind, _ name: String, _ old: String?, _ new: String?) -> Change {
          Change(
            kind: kind, keyName: name, fingerprint: fingerprint, target: id.description, user: id.user,
            host: id.host, oldOptions: old.flatMap { $0.isEmpty ? nil : $0 },
            newOptions: new.flatMap { $0.isEmpty ? nil : $0 })
        }
        switch (was[fingerprint], now[fingerprint]) {
        case (nil, let granted?): changes.append(change(.grant, granted.name, nil, granted.options))
        case (let revoked?, nil): changes.append(change(.revoke, revoked.name, revoked.options, nil))
        case (let a?, let b?) where a.options != b.options:
          changes.append(change(.options, b.name, a.options, b.options))
        default: break
        }
      }
    }
    self.changes = changes
    let allHosts = Set(new.targets.map(\.id.host))
    var order: [String] = []
    var byKey: [String: [Change]] = [:]
    for change in changes {
      if byKey[change.fingerprint] == nil { order.append(change.fingerprint) }
      byKey[change.fingerprint, default: []].append(change)
    }
    keys = order.map { fingerprint in
      let list = byKey[fingerprint] ?? []
      let gains = list.filter { $0.kind == .grant }
      var large: [String] = []
      let rootHosts = Set(gains.filter { $0.user == "root" }.map(\.host))
      if rootHosts.count >= Self.rootHostsFlag { large.append("gains root on \(rootHosts.count) hosts") }
      let hosts = Set(gains.map(\.host))
      let held = Set(
        new.targets.filter { t in t.entries.contains { $0.key.fingerprint == fingerprint } }.map(\.id.host))
      if allHosts.count >= 2, held == allHosts, !hosts.isEmpty {
        large.append("now on every host (\(allHosts.count))")
      }
      if gains.count >= Self.targetsFlag { large.append("gains \(gains.count) targets") }
      let name = list.last { $0.kind != .revoke }?.keyName ?? list.first?.keyName ?? "?"
      return KeyChanges(
        keyName: name, fingerprint: fingerprint, gains: gains.map(\.target),
        losses: list.filter { $0.kind == .revoke }.map(\.target),
        optionChanges: list.filter { $0.kind == .options }.map(\.target), large: large)
    }
    .sorted {
      ($0.large.isEmpty ? 1 : 0, $0.keyName, $0.fingerprint) < (
        $1.large.isEmpty ? 1 : 0, $1.keyName, $1.fingerprint
      )
    }
  }

  public var isEmpty: Bool { changes.isEmpty }

  public func count(_ kind: Kind) -> Int { changes.count { $0.kind == kind } }

  /// `Access: 3 grants, 1 revoke, 0 option changes for 2 keys; 1 large grant flagged.`
  public var summaryLine: String {
    let flagged = keys.count { !$0.large.isEmpty }
    var text =
      "Access: \(count(.grant)) \(count(.grant) == 1 ? "grant" : "grants"), \(count(.revoke)) \(count(.revoke) == 1 ? "revoke" : "revokes"),"
      + " \(count(.options)) option \(count(.options) == 1 ? "change" : "changes") for \(keys.count) \(keys.count == 1 ? "key" : "keys")"
    if flagged > 0 { text += "; \(flagged) large \(flagged == 1 ? "grant" : "grants") flagged" }
    return text + "."
  }

  /// Deterministic pretty JSON (sorted keys, snake_case), newline-terminated.
  public func json() -> [UInt8] {
    DeterministicJSON.encode(Document(formatVersion: 1, summary: summaryLine, keys: keys, changes: changes))
      + [0x0A]
  }

  private struct Document: Encodable {
    var formatVersion: Int
    var summary: String
    var keys: [KeyChanges]
    var changes: [Change]
  }
}

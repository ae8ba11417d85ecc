import AuthorizedKeys
import Foundation

/// The manifest language's model: every file of a manifest decoded and merged, before
/// resolution. Names keep the locations they were defined at, for diagnostics.
struct Manifest: Sendable {
  /// One public key under a key name, with its per-key settings.
  struct Key: Sendable {
    var name: String
    var key: PublicKey
    var comment: String?
    /// Options as written on the line (structured or raw), with `expiry-time` when the key expires.
    var options: [KeyOption]
    var expires: Located<Date>?
    var isProtected: Bool
    /// Where the key is written: the list item, or the line of its `file:`.
    var location: SourceLocation
  }

  /// A name under `keys:` and the keys it holds.
  struct KeyDefinition: Sendable {
    var name: String
    var location: SourceLocation
    var keys: [Key]
  }

  /// A named list of names: a group of keys and groups, or a host group of hosts and host groups.
  struct Group: Sendable {
    var name: String
    var location: SourceLocation
    var members: [Located<String>]
  }

  /// A host under `hosts:`.
  struct Host: Sendable {
    var spec: HostSpec
    var location: SourceLocation
    var jumpLocation: SourceLocation?
  }

  /// One entry of `access:`.
  struct Rule: Sendable {
    /// `access[i]` (global index over the files in order) or the rule's `name`.
    var name: String
    var location: SourceLocation
    var hosts: [Located<String>]
    var users: [Located<String>]
    var keys: [Located<String>]
    var mode: ManagementMode?
    var options: [KeyOption]
    var optionsLocation: SourceLocation?
    var path: Located<String>?
    var follow: Bool?
    /// `outside_home: true`: the path may leave the user's home.
    var outsideHome: Bool?
  }

  /// How a `revoked:` entry names its key.
  enum RevokedKey: Sendable {
    case fingerprint(String)
    case name(String)
    case key(PublicKey)
  }

  /// One entry of `revoked:`.
  struct Revoked: Sendable {
    var key: RevokedKey
    var keyLocation: SourceLocation
    var reason: String
    var location: SourceLocation
  }

  /// `defaults:`.
  struct Defaults: Sendable {
    var mode: Located<ManagementMode>?
    var path: Located<String>?
    var port: Located<Int>?
    var connectAs: Located<String>?
    var knownHosts: Located<String>?
    var follow: Located<Bool>?
    var actAsRoot: Located<Bool>?
    var transport: Located<TransportKind>?
  }

  /// `policy:`.
  struct Policy: Sendable {
    var allowedTypes: Located<[String]>?
    var minRSABits: Located<Int>?
    var maxRemovals: Located<Int>?
  }

  var files: [String] = []
  var defaults = Defaults()
  var policy = Policy()
  var keys: [KeyDefinition] = []
  var groups: [Group] = []
  var hosts: [Host] = []
  var hostGroups: [Group] = []
  var access: [Rule] = []
  var revoked: [Revoked] = []
  /// Every remote key source named under `keys:`, in order.
  var keySources: [KeySourceUse] = []
  /// `rollout:`: the waves `apply` uses when `--rollout` is not given.
  var rollout: Located<Rollout>?
}

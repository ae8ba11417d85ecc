/// The stable code of a manifest diagnostic. Codes never change meaning; tools may match on them.
///
/// Every code has a broken-manifest fixture in `Tests/KeywardCoreTests/Fixtures/manifests/broken/`.
public enum DiagnosticCode: String, Hashable, Sendable, Codable, CaseIterable {
  // Files and YAML.
  /// A manifest path or a key file cannot be read.
  case unreadableFile = "unreadable-file"
  /// A manifest file is larger than `ManifestLoader.maximumFileSize`.
  case fileTooLarge = "file-too-large"
  /// The bytes are not valid UTF-8 (or UTF-16 with a byte order mark).
  case invalidEncoding = "invalid-encoding"
  /// libyaml could not scan or parse the text.
  case yamlSyntax = "yaml-syntax"
  /// A YAML feature keyward refuses: several documents in one file, custom tags, complex keys.
  case unsupportedYAML = "unsupported-yaml"
  /// A mapping holds the same key twice.
  case duplicateKey = "duplicate-key"
  /// An alias names an anchor that is not defined before it.
  case undefinedAlias = "undefined-alias"
  /// An alias refers to a node that contains it.
  case aliasCycle = "alias-cycle"
  /// Aliases expand to more nodes than allowed (an alias bomb).
  case aliasExpansion = "alias-expansion"
  /// A `<<` merge key whose value is not a mapping or a list of mappings.
  case invalidMerge = "invalid-merge"

  // Structure.
  /// A field the language does not know; comes with a suggestion when one is close.
  case unknownField = "unknown-field"
  /// A required field is absent.
  case missingField = "missing-field"
  /// A value of the wrong shape: a list where a mapping is expected, text where a number is.
  case invalidType = "invalid-type"
  /// A YAML 1.1 boolean spelling (`yes`, `no`, `on`, `off`, ...) where a boolean is expected.
  case ambiguousBoolean = "ambiguous-boolean"
  /// A value of the right type that is not allowed: a port out of range, an unknown mode, a bad date.
  case invalidValue = "invalid-value"
  /// `version` is not a version this keyward understands.
  case unsupportedVersion = "unsupported-version"
  /// A key, group, host or user name with characters that are not allowed.
  case invalidName = "invalid-name"
  /// A name (key, group, host, host group, rule) or a setting is defined twice.
  case duplicateDefinition = "duplicate-definition"

  // Keys.
  /// Key text that is not an OpenSSH public key.
  case invalidKey = "invalid-key"
  /// A key type the policy does not allow (DSA is refused unless allowed explicitly).
  case disallowedKeyType = "disallowed-key-type"
  /// An RSA key shorter than `policy.min_rsa_bits`.
  case weakKey = "weak-key"
  /// An option sshd does not know, or options text sshd could not parse.
  case invalidOption = "invalid-option"
  /// A key whose `expires` date has passed (warning: plans remove it).
  case keyExpired = "key-expired"
  /// The same key material under two names (warning).
  case keyReused = "key-reused"
  /// A remote key source (`github:`, `gitlab:`, `url:`) that `keyward.lock` does not pin, or a
  /// lock file that cannot be read or trusted.
  case unlockedSource = "unlocked-source"
  /// A remote key source whose pinned keys (after `types`) are none, without `allow_empty: true`.
  case emptyKeySource = "empty-key-source"

  // References and resolution.
  /// A key or group name that is not defined.
  case undefinedKey = "undefined-key"
  /// A host or host group name that is not defined.
  case undefinedHost = "undefined-host"
  /// A group or host group that contains itself, or a jump chain that loops.
  case cycle = "cycle"
  /// The same key lands twice on one target with different options.
  case conflictingOptions = "conflicting-options"
  /// Two rules manage one target with different modes or `follow` settings.
  case conflictingTarget = "conflicting-target"
  /// A revoked key is still granted by an access rule.
  case revokedKeyGranted = "revoked-key-granted"
  /// A key is both revoked and protected.
  case revokedKeyProtected = "revoked-key-protected"
  /// A managed path outside the user's home without `outside_home: true` on its rule.
  case pathOutsideHome = "path-outside-home"
}

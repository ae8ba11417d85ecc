import AuthorizedKeys
import Foundation

/// Remote key sources under `keys:`: `{ github: alice }`, `{ gitlab: bob, base_url: ... }`,
/// `{ url: https://... }`, or the short text forms `github:alice` and `gitlab:bob`.
///
/// The keys come from `keyward.lock` only (never from the network): a source that is not
/// pinned there is an `unlocked-source` error, so a plan never silently grants less or more
/// than what was reviewed when the lock was written.
extension ManifestDecoder {
  static let sourceKinds = ["github", "gitlab", "url"]
  static let sourceFields = [
    "github", "gitlab", "url", "base_url", "types", "comment", "options", "expires", "protected",
    "allow_empty",
  ]

  /// Whether a key entry names a remote source rather than key text or a file.
  static func isRemoteSource(_ node: YAMLNode) -> Bool {
    if let pairs = node.mapping {
      return pairs.contains { pair in sourceKinds.contains(pair.key.scalar ?? "") }
    }
    if let text = node.scalar, !node.isNull {
      return shortSource(text) != nil
    }
    return false
  }

  /// `github:alice` / `gitlab:alice` (no space after the colon, the way people type it).
  static func shortSource(_ text: String) -> (kind: KeySource.Kind, user: String)? {
    for kind in [KeySource.Kind.github, .gitlab] where text.hasPrefix(kind.rawValue + ":") {
      let user = String(text.dropFirst(kind.rawValue.count + 1)).trimmingCharacters(in: .whitespaces)
      return (kind, user)
    }
    return nil
  }

  /// Decodes a remote source entry into the keys the lock pins for it.
  mutating func decodeRemoteKeyEntry(_ node: YAMLNode, name: String) -> [Manifest.Key] {
    let here = location(node)
    let source: KeySource
    var types: [Located<String>]?
    var comment: String?
    var options: [KeyOption] = []
    var expires: Located<Date>?
    var isProtected = false
    var allowsEmpty = false
    if let text = node.scalar, let short = Self.shortSource(text) {
      do {
        source = try KeySource(kind: short.kind, user: short.user)
      } catch {
        diagnostics.error(.invalidValue, "key '\(name)': \(error)", at: here)
        return []
      }
    } else {
      guard let f = fields(node, of: "key '\(name)'", allowed: Self.sourceFields) else { return [] }
      let given = Self.sourceKinds.filter { f[$0] != nil }
      guard given.count == 1, let kindName = given.first, let kind = KeySource.Kind(rawValue: kindName),
        let valueNode = f[kindName]
      else {
        diagnostics.error(
          .invalidValue,
          "key '\(name)' names \(given.map { "'\($0)'" }.joined(separator: " and ")); keep one source",
          at: here)
        return []
      }
      guard let value = text(valueNode, "'\(kindName)' of key '\(name)'") else { return [] }
      var base: String?
      if let n = f["base_url"] {
        if kind == .url {
          diagnostics.error(
            .invalidValue, "'base_url' applies to 'github' and 'gitlab' sources, not to 'url'",
            at: location(n))
        } else {
          base = text(n, "'base_url' of key '\(name)'")
        }
      }
      do {
        source =
          kind == .url ? try KeySource(url: value) : try KeySource(kind: kind, user: value, baseURL: base)
      } catch {
        diagnostics.error(.invalidValue, "key '\(name)': \(error)", at: location(valueNode))
        return []
      }
      if let n = f["types"], let list = names(n, "'types' of key '\(name)'") {
        for type in list where !Self.keyTypes.contains(type.value) {
          diagnostics.error(
            .invalidValue,
            "unknown key type '\(DisplayText(type.value))' in 'types' of key '\(name)'"
              + Suggestion.hint(for: type.value, in: Self.keyTypes),
            at: type.location)
        }
        types = list
      }
      if let n = f["comment"], let text = text(n, "'comment' of key '\(name)'") {
        if text.contains(where: \.isNewline) {
          diagnostics.error(.invalidValue, "the comment of key '\(name)' must be one line", at: location(n))
        }
        comment = text
      }
      if let n = f["options"], let decoded = self.options(n, "key '\(name)'") { options = decoded }
      if let n = f["expires"], let (date, stamp) = self.date(n, "'expires' of key '\(name)'") {
        expires = Located(date, at: location(n))
        options.removeAll { $0.name.lowercased() == "expiry-time" }
        options.append(KeyOption(name: "expiry-time", value: stamp))
      }
      if let n = f["protected"], let value = bool(n, "'protected' of key '\(name)'") { isProtected = value }
      if let n = f["allow_empty"], let value = bool(n, "'allow_empty' of key '\(name)'") {
        allowsEmpty = value
      }
    }
    manifest.keySources.append(
      KeySourceUse(source: source, keyName: name, allowsEmpty: allowsEmpty, location: here))
    guard requiresLock else { return [] }
    guard let entry = lock?.entry(for: source) else {
      diagnostics.error(
        .unlockedSource,
        "key '\(name)' comes from '\(source)', which \(LockFile.fileName) does not pin; run 'keyward lock' to fetch it and review the keys",
        at: here)
      return []
    }
    var locked = entry.keys
    if let types {
      let wanted = Set(types.map(\.value))
      locked = locked.filter { wanted.contains($0.type) }
    }
    if locked.isEmpty && !allowsEmpty {
      let filtered = entry.keys.isEmpty ? "" : " of the types in 'types'"
      diagnostics.error(
        .emptyKeySource,
        "key '\(name)': '\(source)' holds no key\(filtered) in \(LockFile.fileName); add 'allow_empty: true' if that is expected",
        at: here)
      return []
    }
    let fallback = source.user.map { "\(source.kind.rawValue):\($0)" }
    return locked.map { key in
      Manifest.Key(
        name: name, key: key.key, comment: comment ?? key.comment ?? fallback, options: options,
        expires: expires, isProtected: isProtected, location: here)
    }
  }
}

import AuthorizedKeys
import Foundation

/// Keys under `keys:`: inline key text, key files next to the manifest, their options,
/// expiry and protection.
extension ManifestDecoder {
  mutating func decodeKeys(_ node: YAMLNode) {
    guard let pairs = section(node, "keys") else { return }
    for pair in pairs {
      guard let name = checkedName(pair.key, kind: "key name") else { continue }
      var definition = Manifest.KeyDefinition(name: name, location: location(pair.key), keys: [])
      let value = pair.value
      if let items = value.sequence {
        if items.isEmpty {
          diagnostics.error(.invalidValue, "key '\(name)' holds an empty list of keys", at: location(value))
        }
        for item in items { definition.keys += decodeKeyEntry(item, name: name) }
      } else if value.mapping != nil || (value.scalar != nil && !value.isNull) {
        definition.keys = decodeKeyEntry(value, name: name)
      } else {
        diagnostics.error(
          .invalidType,
          "key '\(name)' must be key text, a mapping with 'key' or 'file', or a list of them, not \(value.shapeDescription)",
          at: location(value))
      }
      manifest.keys.append(definition)
    }
  }

  /// One item under a key name: key text, or a mapping with `key` or `file` and settings.
  mutating func decodeKeyEntry(_ node: YAMLNode, name: String) -> [Manifest.Key] {
    if Self.isRemoteSource(node) { return decodeRemoteKeyEntry(node, name: name) }
    if let text = node.scalar, !node.isNull {
      guard let parsed = parseKey(text, at: location(node), owner: "key '\(name)'") else { return [] }
      return [
        Manifest.Key(
          name: name, key: parsed.key, comment: parsed.comment, options: [], expires: nil,
          isProtected: false, location: location(node))
      ]
    }
    guard let f = fields(node, of: "key '\(name)'", allowed: Self.keyFields) else { return [] }
    var parsed: [(key: PublicKey, comment: String?, location: SourceLocation)] = []
    switch (f["key"], f["file"]) {
    case (let keyNode?, nil):
      if let text = text(keyNode, "'key' of key '\(name)'"),
        let key = parseKey(text, at: location(keyNode), owner: "key '\(name)'")
      {
        parsed = [(key.key, key.comment, location(keyNode))]
      }
    case (nil, let fileNode?):
      if let path = text(fileNode, "'file' of key '\(name)'") {
        parsed = readKeyFile(path, at: location(fileNode), owner: "key '\(name)'")
      }
    case (.some, .some):
      diagnostics.error(
        .invalidValue, "key '\(name)' sets both 'key' and 'file'; keep one", at: location(node))
    case (nil, nil):
      diagnostics.error(
        .missingField, "key '\(name)' needs 'key' (key text) or 'file' (a .pub file)", at: location(node))
    }
    var options: [KeyOption] = []
    if let n = f["options"], let decoded = self.options(n, "key '\(name)'") { options = decoded }
    var expires: Located<Date>?
    if let n = f["expires"], let (date, stamp) = self.date(n, "'expires' of key '\(name)'") {
      if options.contains(where: { $0.name.lowercased() == "expiry-time" }) {
        diagnostics.error(
          .invalidOption,
          "key '\(name)' sets both 'expires' and the 'expiry-time' option; keep 'expires'",
          at: location(n))
      } else {
        expires = Located(date, at: location(n))
        options.append(KeyOption(name: "expiry-time", value: stamp))
      }
    }
    var isProtected = false
    if let n = f["protected"], let value = bool(n, "'protected' of key '\(name)'") { isProtected = value }
    var comment: String??
    if let n = f["comment"] {
      if let text = text(n, "'comment' of key '\(name)'") {
        if text.contains(where: \.isNewline) {
          diagnostics.error(.invalidValue, "the comment of key '\(name)' must be one line", at: location(n))
        }
        comment = .some(text)
      }
    }
    return parsed.map { entry in
      Manifest.Key(
        name: name, key: entry.key, comment: comment ?? entry.comment, options: options, expires: expires,
        isProtected: isProtected, location: entry.location)
    }
  }

  /// Parses key text, reporting what is wrong with it in terms the user can act on.
  mutating func parseKey(_ text: String, at location: SourceLocation, owner: String) -> (
    key: PublicKey, comment: String?
  )? {
    if text.trimmingCharacters(in: .whitespacesAndNewlines).contains(where: \.isNewline) {
      diagnostics.error(
        .invalidKey, "\(owner) holds more than one line; write one key per item (a list holds several keys)",
        at: location)
      return nil
    }
    do {
      let parsed = try KeyCodec.parseKey(text)
      if KeyCodec.facts(parsed.key).isCertificate {
        diagnostics.error(
          .invalidKey,
          "\(owner) is a certificate ('\(parsed.key.type)'); authorize its CA with the 'cert-authority' option instead",
          at: location)
        return nil
      }
      return parsed
    } catch {
      let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
      let first = trimmed.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
      var hint = ""
      if trimmed.hasPrefix("-----BEGIN") {
        hint = "; this looks like a private key or a PEM file: use the public half (.pub)"
      } else if first.contains("=") || first.contains(",") || KeyOptionTable.kinds[first.lowercased()] != nil
      {
        hint = "; write options under 'options:', not in front of the key"
      }
      diagnostics.error(
        .invalidKey, "\(owner) is not an OpenSSH public key: \(KeyCodec.describe(error))\(hint)", at: location
      )
      return nil
    }
  }

  /// Reads a `.pub` file (one key per line; blank lines and `#` comments skipped) through
  /// `KeyFileReader`. The file's content never appears in a diagnostic: a line that is not a
  /// key is reported by number and reason only (the file may be a private key or a secret).
  mutating func readKeyFile(_ path: String, at location: SourceLocation, owner: String) -> [(
    key: PublicKey, comment: String?, location: SourceLocation
  )] {
    let bytes: [UInt8]
    do {
      bytes = try keyFiles.read(path, manifest: document.file)
    } catch {
      diagnostics.error(.unreadableFile, "cannot read key file '\(path)' of \(owner): \(error)", at: location)
      return []
    }
    let resolved = KeyFileReader.resolve(path, relativeTo: document.file)
    guard let content = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else {
      diagnostics.error(.invalidEncoding, "key file '\(path)' of \(owner) is not UTF-8 text", at: location)
      return []
    }
    var keys: [(key: PublicKey, comment: String?, location: SourceLocation)] = []
    var sawKeyLine = false
    var bad: [(line: Int, reason: String)] = []
    for (index, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if text.isEmpty || text.hasPrefix("#") { continue }
      if text.hasPrefix("-----BEGIN") || text.hasPrefix("PuTTY-User-Key-File") {
        diagnostics.error(
          .invalidKey,
          "key file '\(path)' of \(owner) holds a private key or a PEM block, not public keys;"
            + " name the public half (.pub) instead (nothing of the file is shown)",
          at: location)
        return []
      }
      sawKeyLine = true
      do {
        let parsed = try KeyCodec.parseKey(text)
        if KeyCodec.facts(parsed.key).isCertificate {
          bad.append((index + 1, "a certificate; authorize its CA with the 'cert-authority' option instead"))
          continue
        }
        keys.append((parsed.key, parsed.comment, SourceLocation(file: resolved, line: index + 1, column: 1)))
      } catch {
        bad.append((index + 1, KeyCodec.describeWithoutContent(error)))
      }
    }
    if let first = bad.first {
      let more =
        bad.count > 1 ? " (and \(bad.count - 1) more line\(bad.count == 2 ? "" : "s") that are not keys)" : ""
      diagnostics.error(
        .invalidKey,
        "line \(first.line) of key file '\(path)' of \(owner) is not an OpenSSH public key: \(first.reason)\(more)",
        at: location)
    } else if !sawKeyLine {
      diagnostics.error(.invalidKey, "key file '\(path)' of \(owner) holds no key", at: location)
    }
    return bad.isEmpty ? keys : []
  }
}

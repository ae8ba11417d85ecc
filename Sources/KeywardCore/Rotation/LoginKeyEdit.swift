import AuthorizedKeys

/// The two edits of a rotation, each keeping every other line byte for byte.
public enum LoginKeyEdit {
  /// `content` with a line for `new` right after the first line of an old key: the same
  /// options as that line (so `from=`, `restrict` and the like carry over), and `comment`
  /// (or the old line's comment). Unchanged when the new key is already there.
  public static func adding(_ new: PublicKey, comment: String?, to content: [UInt8], old: Set<String>)
    -> [UInt8]
  {
    var file = AuthorizedKeysFile(bytes: content)
    guard !file.entries.contains(where: { $0.key == new }) else { return content }
    guard
      let index = file.lines.firstIndex(where: { $0.entry.map { old.contains($0.key.fingerprint) } ?? false }
      ),
      let template = file.lines[index].entry
    else {
      file.append(KeyEntry(key: new, comment: comment))
      return file.render()
    }
    let line = AuthorizedKeysLine(
      entry: KeyEntry(options: template.options, key: new, comment: comment ?? template.comment))
    file.lines.insert(line, at: index + 1)
    file.hasFinalNewline = true
    return file.render()
  }

  /// `content` without any line of an old key.
  public static func removing(_ old: Set<String>, from content: [UInt8]) -> [UInt8] {
    var file = AuthorizedKeysFile(bytes: content)
    file.lines.removeAll { $0.entry.map { old.contains($0.key.fingerprint) } ?? false }
    return file.render()
  }
}

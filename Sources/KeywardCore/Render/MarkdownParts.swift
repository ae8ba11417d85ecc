/// Splits a Markdown document (a head, sections, a foot) into parts for comments, each at
/// most `limit` UTF-8 bytes (GitHub's comment limit is 65,536 characters; bytes are never
/// fewer), each starting with the hidden marker a comment script finds it by:
///
///     <!-- keyward plan part=1 of=2 digest=sha256:... -->
///
/// Cuts fall between sections only; a section too large for any part is truncated.
public struct MarkdownParts: Sendable {
  /// `plan` or `diff`: what the comment is.
  public var kind: String
  /// Identifies what the comment shows (the plan file's digest, or the diff's).
  public var digest: String
  public var limit: Int

  public init(kind: String, digest: String, limit: Int) {
    self.kind = kind
    self.digest = digest
    self.limit = limit
  }

  /// The marker of part `index` (1-based) of `count`.
  public func marker(_ index: Int, of count: Int) -> String {
    "<!-- keyward \(kind) part=\(index) of=\(count) digest=\(digest) -->\n"
  }

  /// The parts; a single part when everything fits.
  public func split(head: String, sections: [String], foot: String) -> [String] {
    let continued = "\n_(continued in the next part)_\n"
    let title = 160  // the marker and the "part i of n" line
    let room = limit - head.utf8.count - foot.utf8.count - continued.utf8.count - title
    var bodies: [String] = []
    var current = head
    var count = 0
    for var section in sections {
      if section.utf8.count > room {
        section =
          Self.prefix(section, bytes: max(0, room - 100)) + "\n\n_(section truncated)_\n\n</details>\n\n"
      }
      if count > 0
        && current.utf8.count + section.utf8.count + foot.utf8.count + continued.utf8.count + title > limit
      {
        bodies.append(current + continued)
        current = ""
        count = 0
      }
      current += section
      count += 1
    }
    bodies.append(current + foot)
    let total = bodies.count
    return bodies.enumerated().map { index, body in
      let heading = total > 1 ? "**keyward \(kind), part \(index + 1) of \(total)**\n\n" : ""
      return marker(index + 1, of: total) + heading + body
    }
  }

  /// The longest prefix of whole characters within `bytes` UTF-8 bytes.
  static func prefix(_ text: String, bytes: Int) -> String {
    var out = ""
    var used = 0
    for ch in text {
      let n = ch.utf8.count
      if used + n > bytes { break }
      out.append(ch)
      used += n
    }
    return out
  }
}

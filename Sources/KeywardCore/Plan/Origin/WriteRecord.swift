import Crypto

/// What keyward last wrote to a file, kept in the file itself as its last line:
///
///     # keyward-record v1 digest=<sha256 hex> revision=<rev> lines=<h1>,<h2>,...
///
/// sshd skips lines that start with `#`, so the record changes nothing about access. Being
/// part of the file, it is written by the same atomic rename as the keys it describes,
/// copied into backups and restored by rollback with them, and covered by compare-and-swap;
/// no transport needs to know it exists.
///
/// `digest` is SHA-256 of the file's lines without the record (each line ended by a newline,
/// as keyward writes them), so any edit elsewhere in the file shows. `lines` holds a short
/// hash (9 bytes of SHA-256, base64url) of each key line keyward wrote, so each later change
/// can be told apart: undoing a line keyward did not write is drift, replacing a line it did
/// write is intent. `revision` is the manifest revision (a git commit) of that write.
///
/// The record is bookkeeping, not a seal: whoever can write the file can rewrite the record.
public struct WriteRecord: Hashable, Sendable {
  /// Every record line starts with this.
  public static let prefix: [UInt8] = Array("# keyward-record ".utf8)

  /// SHA-256 hex of the file's other lines.
  public var digest: String
  /// The manifest revision of the write, if known (letters, digits and `.+_-:` only).
  public var revision: String?
  /// Short hashes of the key lines written, in file order.
  public var lines: [String]

  public init(digest: String, revision: String?, lines: [String]) {
    self.digest = digest
    self.revision = revision.flatMap(Self.cleanRevision)
    self.lines = lines
  }

  /// The record for a file whose other lines are `body` (each ending in a newline) and whose
  /// key lines are `keyLines` (without newlines).
  public init(body: [UInt8], keyLines: [[UInt8]], revision: String?) {
    self.init(
      digest: ContentDigest.of(body), revision: revision, lines: keyLines.map(Self.lineHash))
  }

  /// The record line, newline included.
  public var rendered: [UInt8] {
    var text = "# keyward-record v1 digest=\(digest)"
    if let revision { text += " revision=\(revision)" }
    text += " lines=" + lines.joined(separator: ",")
    return Array(text.utf8) + [0x0A]
  }

  /// True for a record line (any version), with or without its newline.
  public static func isRecord(_ line: [UInt8]) -> Bool {
    line.count >= prefix.count && line.starts(with: prefix)
  }

  /// Parses a record line; `nil` for anything that is not a well-formed v1 record.
  public static func parse(_ line: [UInt8]) -> WriteRecord? {
    guard isRecord(line) else { return nil }
    var text = String(decoding: line, as: UTF8.self)
    while text.last == "\n" || text.last == "\r" { text.removeLast() }
    let words = text.split(separator: " ", omittingEmptySubsequences: true)
    guard words.count >= 4, words[2] == "v1" else { return nil }
    var digest: String?
    var revision: String?
    var lines: [String]?
    for word in words.dropFirst(3) {
      guard let equals = word.firstIndex(of: "=") else { return nil }
      let name = word[..<equals]
      let value = String(word[word.index(after: equals)...])
      switch name {
      case "digest":
        guard value.count == 64, value.allSatisfy(\.isHexDigit) else { return nil }
        digest = value
      case "revision": revision = value
      case "lines": lines = value.isEmpty ? [] : value.split(separator: ",").map(String.init)
      default: continue  // a field from a newer v1 writer
      }
    }
    guard let digest, let lines else { return nil }
    return WriteRecord(digest: digest, revision: revision, lines: lines)
  }

  /// The short hash of one key line (its bytes without the newline).
  public static func lineHash(_ line: [UInt8]) -> String {
    var bytes = line
    while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
    let digest = Array(SHA256.hash(data: bytes).prefix(9))
    return base64URL(digest)
  }

  private static func base64URL(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    var out = ""
    var index = 0
    while index + 2 < bytes.count {
      let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
      for shift in [18, 12, 6, 0] { out.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
      index += 3
    }
    return out  // callers pass a multiple of 3 bytes
  }

  /// A revision as it may appear in a file: short, printable, no spaces; otherwise dropped.
  static func cleanRevision(_ revision: String) -> String? {
    let allowed = revision.unicodeScalars.allSatisfy { scalar in
      scalar.isASCII
        && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
          || ".+_-:".unicodeScalars.contains(scalar))
    }
    guard allowed, !revision.isEmpty, revision.count <= 80 else { return nil }
    return revision
  }
}

extension WriteRecord {
  /// True for a line the record lists: anything but a blank line or a comment.
  public static func isKeyLike(_ line: [UInt8]) -> Bool {
    guard let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }) else { return false }
    return first != UInt8(ascii: "#") && first != 0x0D
  }
}

extension WriteRecord {
  /// A file's bytes without its record lines: what sshd reads, for display and comparison.
  public static func strip(_ content: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(content.count)
    var start = 0
    while start < content.count {
      let end = content[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? content.count
      let line = Array(content[start..<end])
      if !isRecord(line) { out += line }
      start = end
    }
    return out
  }
}

import AuthorizedKeys
import Foundation

/// `keyward.lock`: the exact keys every remote key source served when `keyward lock` last
/// fetched it. Plans and applies read keys from here only; nothing fetches during apply.
///
/// On disk it is JSON with a `format_version`, sources sorted by URL, every key with its type,
/// fingerprint and material. Reading it checks that each fingerprint is that of its material,
/// so a hand-edited lock cannot claim one key and grant another.
public struct LockFile: Equatable, Sendable {
  /// The format this keyward writes and reads.
  public static let formatVersion = 1
  /// The file's name, beside the manifests.
  public static let fileName = "keyward.lock"
  /// The largest lock file read (16 MiB).
  public static let maximumSize = 16 << 20

  /// What one source served.
  public struct Entry: Equatable, Sendable {
    /// How the source is written, e.g. `github: alice`.
    public var source: String
    public var url: String
    public var fetchedAt: Date
    public var keys: [LockedKey]

    public init(source: String, url: String, fetchedAt: Date, keys: [LockedKey]) {
      self.source = source
      self.url = url
      self.fetchedAt = fetchedAt
      self.keys = keys
    }
  }

  /// Entries by URL.
  public var entries: [String: Entry]

  public init(entries: [Entry] = []) {
    self.entries = Dictionary(entries.map { ($0.url, $0) }, uniquingKeysWith: { _, last in last })
  }

  public func entry(for source: KeySource) -> Entry? { entries[source.url] }

  /// Where the lock of these manifests lives: inside the first path when it is a directory,
  /// else beside the first file.
  public static func path(besideManifests paths: [String]) -> String {
    guard let first = paths.first else { return fileName }
    if ManifestFileReader.isDirectory(first) { return (first as NSString).appendingPathComponent(fileName) }
    let directory = (first as NSString).deletingLastPathComponent
    return directory.isEmpty ? fileName : (directory as NSString).appendingPathComponent(fileName)
  }

  // MARK: - On disk

  struct Document: Codable {
    var format_version: Int
    var sources: [Source]

    struct Source: Codable {
      var source: String
      var url: String
      var fetched_at: String
      var keys: [Key]
    }

    struct Key: Codable {
      var type: String
      var fingerprint: String
      var key: String
      var comment: String?
    }
  }

  /// Deterministic JSON: sources sorted by URL, keys in the order the source served them.
  public func encoded() -> [UInt8] {
    let sources = entries.values.sorted { $0.url < $1.url }.map { entry in
      Document.Source(
        source: entry.source, url: entry.url, fetched_at: UTCTime.timestamp(entry.fetchedAt),
        keys: entry.keys.map {
          Document.Key(type: $0.type, fingerprint: $0.fingerprint, key: $0.material, comment: $0.comment)
        })
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(Document(format_version: Self.formatVersion, sources: sources))) ?? Data()
    return Array(data) + [0x0A]
  }

  /// Reads a lock file's bytes; refuses unknown versions and any key whose stated type or
  /// fingerprint is not that of its material.
  public static func decode(_ bytes: [UInt8]) throws(KeySourceError) -> LockFile {
    let document: Document
    do {
      document = try JSONDecoder().decode(Document.self, from: Data(bytes))
    } catch {
      throw KeySourceError("it is not a keyward lock file (not the JSON 'keyward lock' writes)")
    }
    guard document.format_version == formatVersion else {
      throw KeySourceError(
        "its format_version \(document.format_version) is not one this keyward reads (\(formatVersion)); run 'keyward lock' again"
      )
    }
    var entries: [Entry] = []
    for source in document.sources {
      let name = "'\(DisplayText(source.source))'"
      guard let date = UTCTime.date(timestamp: source.fetched_at) else {
        throw KeySourceError("source \(name) has a fetched_at that is not a date")
      }
      var keys: [LockedKey] = []
      for key in source.keys {
        let parsed: (key: PublicKey, comment: String?)
        do {
          parsed = try KeyCodec.parseKey(key.key)
        } catch {
          throw KeySourceError("a key of source \(name) is not an OpenSSH public key")
        }
        let locked = LockedKey(key: parsed.key, comment: key.comment)
        guard parsed.comment == nil, locked.fingerprint == key.fingerprint, locked.type == key.type,
          !parsed.key.isCertificate
        else {
          throw KeySourceError(
            "a key of source \(name) does not match its fingerprint '\(DisplayText(key.fingerprint))'; the lock was edited by hand: run 'keyward lock' again"
          )
        }
        if let comment = key.comment,
          comment.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
          throw KeySourceError("a key comment of source \(name) holds control characters")
        }
        keys.append(locked)
      }
      entries.append(Entry(source: source.source, url: source.url, fetchedAt: date, keys: keys))
    }
    return LockFile(entries: entries)
  }

  /// Reads the lock at `path`; `nil` when there is none.
  public static func read(_ path: String) throws(KeySourceError) -> LockFile? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let bytes: [UInt8]
    do {
      bytes = try ManifestFileReader.read(path, limit: maximumSize)
    } catch {
      throw KeySourceError("cannot read '\(path)': \(error)")
    }
    return try decode(bytes)
  }
}

/// One known_hosts file, parsed once and indexed for lookups by host name.
///
/// Parsing follows OpenSSH 9.2's `hostkeys_foreach()`: blank lines and `#` comments are
/// skipped; at most one `@cert-authority` or `@revoked` marker; the host field ends at the first
/// space or TAB; the key is read by `sshkey_read()` (the same reader as authorized_keys). Lines
/// OpenSSH would skip (unknown marker, bad key, bad hash) are counted in ``skippedLines`` and
/// never match.
///
/// Lookups cost O(1) for literal host lists (the usual `name,address` lines) plus one pattern
/// match per wildcard line and one HMAC-SHA1 per hashed line, in file order.
public struct KnownHostsFile: Sendable {
  /// The path the text came from (for messages).
  public let path: String
  /// Every valid line, in file order.
  public let entries: [KnownHostsEntry]
  /// Lines OpenSSH would skip as invalid (not comments or blank lines).
  public let skippedLines: Int
  /// Entry indices by lowercased literal name.
  private let literal: [[UInt8]: [Int]]
  /// Indices of entries that need a pattern match or an HMAC per lookup, ascending.
  private let scanned: [Int]

  /// Parses the bytes of a known_hosts file.
  public init(path: String, bytes: [UInt8]) {
    self.path = path
    var entries: [KnownHostsEntry] = []
    var skipped = 0
    var literal: [[UInt8]: [Int]] = [:]
    var scanned: [Int] = []
    var lineNumber = 0
    for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
      lineNumber += 1
      // OpenSSH handles each line as a C string: a NUL ends it.
      let text = rawLine.firstIndex(of: 0).map { rawLine[..<$0] } ?? rawLine
      switch Self.parseLine(text, path: path, line: lineNumber) {
      case .blank: continue
      case .invalid: skipped += 1
      case .entry(let entry):
        let index = entries.count
        entries.append(entry)
        if case .patterns(let list) = entry.hosts, let names = HostPattern.literalNames(list[...]) {
          for name in Set(names) { literal[name, default: []].append(index) }
        } else {
          scanned.append(index)
        }
      }
    }
    self.entries = entries
    self.skippedLines = skipped
    self.literal = literal
    self.scanned = scanned
  }

  enum ParsedLine {
    case blank
    case invalid
    case entry(KnownHostsEntry)
  }

  static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

  static func parseLine(_ line: ArraySlice<UInt8>, path: String, line number: Int) -> ParsedLine {
    var cursor = line.startIndex
    let end = line.endIndex
    while cursor < end, isBlank(line[cursor]) { cursor += 1 }
    if cursor == end || line[cursor] == UInt8(ascii: "#") { return .blank }
    // check_markers(): the marker ends at the first space in the rest of the line, or failing
    // that the first TAB (a quirk kept for fidelity).
    var marker = KnownHostsEntry.Marker.none
    var seenMarker = false
    while cursor < end, line[cursor] == UInt8(ascii: "@") {
      if seenMarker { return .invalid }
      seenMarker = true
      let rest = line[cursor...]
      guard let stop = rest.firstIndex(of: 0x20) ?? rest.firstIndex(of: 0x09) else { return .invalid }
      let length = stop - cursor
      guard length > 1, length < 32 else { return .invalid }
      switch Array(line[cursor..<stop]) {
      case Array("@cert-authority".utf8): marker = .certAuthority
      case Array("@revoked".utf8): marker = .revoked
      default: return .invalid
      }
      cursor = stop
      while cursor < end, isBlank(line[cursor]) { cursor += 1 }
    }
    let hostStart = cursor
    while cursor < end, !isBlank(line[cursor]) { cursor += 1 }
    let field = Array(line[hostStart..<cursor])
    while cursor < end, isBlank(line[cursor]) { cursor += 1 }
    guard cursor < end, line[cursor] != UInt8(ascii: "#") else { return .invalid }
    let hosts: KnownHostsEntry.Hosts
    if field.first == UInt8(ascii: "|") {
      guard let parsed = parseHashed(field) else { return .invalid }
      hosts = parsed
    } else {
      hosts = .patterns(field)
    }
    let keyText = Array(line[cursor..<end])
    let key: PublicKey
    do {
      key = try keyText.withUnsafeBufferPointer { (buffer) throws(KeyError) -> PublicKey in
        var index = 0
        return try KeyReader.read(buffer, from: &index)
      }
    } catch {
      return .invalid
    }
    return .entry(KnownHostsEntry(marker: marker, hosts: hosts, key: key, file: path, line: number))
  }

  /// `extract_salt()` and `host_hash()`: `|1|` + base64 of a 20-byte salt + `|` + base64 hash.
  /// Returns nil (an invalid line) when the salt is unusable; a hash that cannot be the
  /// canonical encoding makes an entry that never matches.
  static func parseHashed(_ field: [UInt8]) -> KnownHostsEntry.Hosts? {
    guard field.count >= 3, field[0..<3].elementsEqual("|1|".utf8) else { return nil }
    let body = field[3...]
    guard let bar = body.firstIndex(of: UInt8(ascii: "|")) else { return nil }
    let saltText = Array(body[..<bar])
    guard !saltText.isEmpty, saltText.count <= 1024 else { return nil }
    guard let salt = try? saltText.withUnsafeBufferPointer({ try Base64.decodeStrict($0) }), salt.count == 20
    else { return nil }
    let hashText = Array(body[(bar + 1)...])
    // OpenSSH compares the whole field with the re-encoded "|1|salt|hash": only the canonical
    // encodings of salt and a 20-byte hash can ever be equal to it.
    guard Array(Base64.encode(salt).utf8) == saltText,
      let hash = try? hashText.withUnsafeBufferPointer({ try Base64.decodeStrict($0) }), hash.count == 20,
      Array(Base64.encode(hash).utf8) == hashText
    else { return .hashed(salt: salt, hash: nil) }
    return .hashed(salt: salt, hash: hash)
  }

  /// The entries whose host field names `host` (given as OpenSSH would look it up: already
  /// lowercased by the caller, `[host]:port` for other ports), in file order.
  public func entries(for host: String) -> [KnownHostsEntry] {
    let name = Array(host.utf8)
    var hits = literal[name.map(HostPattern.lower)] ?? []
    for index in scanned where entries[index].matches(name) { hits.append(index) }
    if hits.count > 1 { hits.sort() }
    return hits.map { entries[$0] }
  }
}

import AuthorizedKeys
import Foundation
import KeywardCore
import SFTP

/// The properties every fuzz target checks on one input. A broken property stops the process
/// (`fatalError`, whose message survives -O), which libFuzzer reports as a crash and saves the input; the same
/// functions replay the seed corpus and every saved crash in the normal test suite
/// (`FuzzRegressionTests`).
///
/// Each target is named as `scripts/fuzz` and the `Fuzz/Corpus/<target>` folder name it.
public enum FuzzChecks {
  /// Every target, by name.
  public static let targets: [String: @Sendable ([UInt8]) -> Void] = [
    "authorized-keys-line": authorizedKeysLine,
    "authorized-keys-file": authorizedKeysFile,
    "key-options": keyOptions,
    "manifest": manifest,
    "plan-file": planFile,
    "known-hosts": knownHosts,
    "sftp-packets": sftpPackets,
  ]

  /// The largest manifest input the manifest target loads (keeps each run fast).
  public static let maximumManifestSize = 64 << 10

  /// One authorized_keys line: classified without crashing; a valid key line's canonical
  /// rendering is one line that reads back to the same options, key and comment.
  /// The input is cut at its first newline: sshd reads files line by line, so no line holds one.
  @Sendable public static func authorizedKeysLine(_ bytes: [UInt8]) {
    let line = AuthorizedKeysLine(raw: Array(bytes.prefix { $0 != 0x0A }))
    _ = line.error
    guard let entry = line.entry else { return }
    let rendered = entry.rendered()
    require(!rendered.utf8.contains(0x0A), "a rendered key line holds a newline")
    let again = AuthorizedKeysLine(text: rendered)
    require(again.entry?.key == entry.key, "the rendered line does not read back to the same key")
    require(again.entry?.options == entry.options, "the rendered line does not read back to the same options")
    require(
      again.entry?.comment == normalizedComment(entry.comment),
      "the rendered line does not read back to the same comment")
  }

  /// A whole authorized_keys file: an unchanged file renders byte for byte; its canonical form
  /// (every valid key line rendered by keyward) reads back to the same keys, options and comments.
  @Sendable public static func authorizedKeysFile(_ bytes: [UInt8]) {
    let file = AuthorizedKeysFile(bytes: bytes)
    require(file.render() == bytes, "an unchanged file does not render byte for byte")
    let canonical = AuthorizedKeysFile(lines: file.entries.map(AuthorizedKeysLine.init(entry:)))
    let again = AuthorizedKeysFile(bytes: canonical.render())
    require(again.entries.count == file.entries.count, "the canonical file holds another number of keys")
    for (a, b) in zip(file.entries, again.entries) {
      require(a.key == b.key && a.options == b.options, "the canonical file changes a key or its options")
      require(normalizedComment(a.comment) == b.comment, "the canonical file changes a comment")
    }
  }

  /// The options grammar: what parses renders and parses back to the same options; `check`
  /// accepts what `render` wrote from parsed options or says why not, without crashing.
  /// The input is cut at its first newline (options are part of one line).
  @Sendable public static func keyOptions(_ bytes: [UInt8]) {
    let text = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
    guard let options = try? KeyOptions.parse(text) else { return }
    _ = try? KeyOptions.check(options)
    let rendered = KeyOptions.render(options)
    guard let again = try? KeyOptions.parse(rendered) else {
      require(false, "rendered options do not parse")
      return
    }
    require(again == options, "rendered options parse to other options")
  }

  /// YAML loader, manifest decoder and resolver on one manifest file: no crash, and no
  /// diagnostic line holds a control character or grows past the `Echo` limits.
  @Sendable public static func manifest(_ bytes: [UInt8]) {
    guard bytes.count <= maximumManifestSize else { return }
    let result = ManifestLoader(now: Date(timeIntervalSince1970: 1_780_000_000)).load(sources: [
      ("m.yaml", bytes)
    ])
    for diagnostic in result.diagnostics {
      for line in diagnostic.description.split(separator: "\n", omittingEmptySubsequences: false) {
        require(
          !line.unicodeScalars.contains(where: Echo.needsEscape), "a diagnostic holds a control character")
        require(line.unicodeScalars.count < 2 * Echo.messageLimit, "a diagnostic line is too long")
      }
    }
    if result.state != nil {
      require(!result.diagnostics.contains { $0.severity == .error }, "errors with a state")
    }
  }

  /// A saved plan file: decoded (or refused) without crashing; a decoded plan renders in text,
  /// Markdown and JSON with no raw control character from the file reaching the output.
  @Sendable public static func planFile(_ bytes: [UInt8]) {
    guard let plan = try? PlanFile.decode(bytes) else { return }
    let text = TextPlanRenderer(color: false).render(plan)
    let markdown = MarkdownPlanRenderer(limit: 4_000).renderParts(plan).joined()
    let json = JSONPlanRenderer().render(plan)
    for (format, output) in [("text", text), ("markdown", markdown)] {
      require(
        !output.unicodeScalars.contains { $0 != "\n" && Echo.needsEscape($0) },
        "the \(format) plan holds a raw control character")
    }
    require(!json.utf8.contains(0x1B), "the JSON plan holds a raw ESC")
  }

  /// A known_hosts file: parsed without crashing; every entry has a line number inside the file;
  /// entries plus skipped lines are at most the lines; lookups agree with a scan of all entries.
  @Sendable public static func knownHosts(_ bytes: [UInt8]) {
    let file = KnownHostsFile(path: "known_hosts", bytes: bytes)
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
    require(file.entries.count + file.skippedLines <= lines, "more entries and skipped lines than lines")
    require(file.entries.allSatisfy { (1...lines).contains($0.line) }, "an entry outside the file's lines")
    for host in ["lab1", "web1.example.com", "[127.0.0.1]:2222", "10.0.0.5"] {
      let found = file.entries(for: host).map(\.line)
      let scanned = file.entries.filter { $0.matches(Array(host.utf8)) }.map(\.line)
      require(Set(found) == Set(scanned), "the indexed lookup and a scan disagree for '\(host)'")
    }
  }

  /// SFTP replies from a server: framed and decoded without trapping, at most one error and
  /// only last, and the same replies whether the bytes arrive at once or in two pieces.
  @Sendable public static func sftpPackets(_ bytes: [UInt8]) {
    let whole = SFTPCodec.decodeStream(bytes)
    for (index, result) in whole.enumerated() {
      if case .failure = result { require(index == whole.count - 1, "decoding went on after an error") }
    }
    guard let first = bytes.first else { return }
    let cut = Int(first) % (bytes.count + 1)
    var framer = SFTPFramer()
    var pieces: [Result<SFTPResponse, SFTPError>] = []
    outer: for chunk in [Array(bytes[..<cut]), Array(bytes[cut...])] {
      framer.append(chunk)
      while true {
        do throws(SFTPError) {
          guard let packet = try framer.nextPacket() else { break }
          pieces.append(.success(try SFTPCodec.decodeResponse(packet)))
        } catch {
          pieces.append(.failure(error))
          break outer
        }
      }
    }
    require(pieces.count == whole.count, "split input gives another number of replies")
    for (a, b) in zip(pieces, whole) {
      switch (a, b) {
      case (.success(let x), .success(let y)): require(x == y, "split input gives another reply")
      case (.failure, .failure): break
      default: require(false, "split input fails where the whole does not (or the other way)")
      }
    }
  }

  /// How a comment reads back after `KeyEntry.rendered()`: newline, return and NUL become
  /// spaces, and blanks at its start are then read as the separator before it.
  static func normalizedComment(_ comment: String?) -> String? {
    guard let comment else { return nil }
    var out = ""
    for scalar in comment.unicodeScalars {
      switch scalar {
      case "\n", "\r", "\0": out += " "
      default: out.unicodeScalars.append(scalar)
      }
    }
    // By scalars, as the parser reads bytes: a combining mark after a blank makes one
    // Character with it, which a Character-wise trim would keep.
    let trimmed = String(String.UnicodeScalarView(out.unicodeScalars.drop { $0 == " " || $0 == "\t" }))
    return trimmed.isEmpty ? nil : trimmed
  }

  static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz property broken: \(message())") }
  }
}

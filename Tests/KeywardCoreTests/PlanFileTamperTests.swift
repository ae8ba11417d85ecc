import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Testing

@testable import KeywardCore

/// Tampered plan files, generated in bulk: every variant is refused, or `show` displays exactly
/// what `apply` writes (checked by applying it to an in-memory host and comparing the bytes,
/// modes and paths written with the rendered plan).
@Suite("Tampered plan files")
struct PlanFileTamperTests {
  static let now = Date(timeIntervalSince1970: 1_790_000_000)
  static let alice = TargetID(user: "alice", host: "img")
  static let bob = TargetID(user: "bob", host: "img")
  static let carolID = TargetID(user: "carol", host: "img")

  /// The real hosts: what apply meets, whatever the plan file claims.
  static func accounts() -> [TargetID: MemoryTransport.Account] {
    [
      alice: .init(content: Array(("# alice's file\n" + TestKeys.carol + "\n" + TestKeys.bob + "\n").utf8)),
      bob: .init(
        content: Array(("restrict " + TestKeys.alice + "\n").utf8), fileMode: 0o644, directoryMode: 0o777),
      carolID: .init(content: nil, directoryMode: nil),
    ]
  }

  static func basePlan() -> Plan {
    let entries = [
      TestKeys.entry("alice", TestKeys.alice),
      TestKeys.entry("dave", TestKeys.dave, options: [KeyOption(name: "restrict")]),
    ]
    let desired = DesiredState(
      targets: [alice, bob, carolID].map { DesiredTarget(id: $0, mode: .exclusive, entries: entries) })
    var observed: [TargetID: Result<ObservedTarget, TransportError>] = [:]
    for (id, account) in accounts() {
      let home = "/home/\(id.user)"
      observed[id] = .success(
        ObservedTarget(
          id: id, content: account.content, absolutePath: home + "/" + id.path, home: home, uid: account.uid,
          gid: account.uid, file: account.file, directory: account.directory, homeStatus: account.home))
    }
    return Planner(options: PlannerOptions(now: now)).plan(desired, observed: observed)
  }

  static func envelope(_ bytes: [UInt8]) throws -> PlanFile.Envelope {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(PlanFile.Envelope.self, from: Data(bytes))
  }

  /// Re-signs the body with a correct digest, as someone editing the file on purpose would.
  static func reencode(_ body: PlanFile.Body) -> [UInt8] {
    let envelope = PlanFile.Envelope(
      formatVersion: PlanFile.formatVersion, kind: PlanFile.kind, digest: PlanFile.digest(of: body),
      body: body)
    return DeterministicJSON.encode(envelope)
  }

  static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

  /// Body edits: each returns a new body.
  static func semanticVariants(_ body: PlanFile.Body) -> [(String, PlanFile.Body)] {
    var out: [(String, PlanFile.Body)] = []
    let contents: [(String, String?)] = [
      ("extra key", "# alice's file\n" + TestKeys.alice + "\n" + TestKeys.carol + "\n"),
      ("key with options", "# alice's file\n" + "command=\"/bin/sh\" " + TestKeys.alice + "\n"),
      ("reordered", TestKeys.alice + "\n# alice's file\n"),
      ("crlf", "# alice's file\r\n" + TestKeys.alice + "\r\n"),
      ("no final newline", "# alice's file\n" + TestKeys.alice),
      ("comment added", "# alice's file\n" + TestKeys.alice + "\n# hello \u{1B}[2J\n"),
      ("invalid line", "# alice's file\n" + TestKeys.alice + "\nssh-ed25519 AAAA broken\n"),
      ("empty", ""),
      ("same as old", "# alice's file\n" + TestKeys.carol + "\n" + TestKeys.bob + "\n"),
      ("carol kept", "# alice's file\n" + TestKeys.carol + "\n" + TestKeys.alice + "\n"),
      ("ci key", TestKeys.ci + "\n"),
      ("missing", nil),
    ]
    let paths = [
      ".ssh/authorized_keys", "/root/.ssh/authorized_keys", "../bob/.ssh/authorized_keys",
      "%h/../bob/.ssh/authorized_keys", ".ssh/../../../etc/passwd", "/etc/passwd", "%h/.ssh/authorized_keys2",
      ".ssh/authorized_keys\u{0}x", "", "%u/../x",
    ]
    let fileModes: [UInt32] = [0o4777, 0o777, 0o644, 0o600, 0o400, 0o2600, 0o1600, 0, 0o700, 0o660]
    let dirModes: [UInt32?] = [nil, 0o777, 0o755, 0o700, 0o4700, 0o1777]
    let users = ["alice", "root", "bob", "..", "a/b", "", "carol"]
    let hosts = ["img", "h2", "", "../x", "a b", "IMG"]
    for index in body.targets.indices {
      for (name, content) in contents {
        var edited = body
        edited.targets[index].newContent = content.map(base64)
        out.append(("content \(name) #\(index)", edited))
        // The same, also claiming the file was something else when observed.
        for claim in ["", TestKeys.bob + "\n"] {
          var claimed = edited
          if claimed.targets[index].observed != nil {
            claimed.targets[index].observed?.content = base64(claim)
            out.append(("content \(name) + observed content only #\(index)", claimed))
            claimed.targets[index].observed?.digest = ContentDigest.of(Array(claim.utf8))
            out.append(("content \(name) + observed content and digest #\(index)", claimed))
          }
        }
        var changed = edited
        changed.targets[index].status = .changes
        if changed.targets[index].observed == nil {
          changed.targets[index].observed = PlanFile.Observed(
            digest: ContentDigest.absent, content: nil, file: nil, directory: nil, uid: 2001, home: "/home/x")
        }
        out.append(("content \(name) + status changes #\(index)", changed))
      }
      for path in paths {
        for outside in [false, true] {
          var edited = body
          edited.targets[index].path = path
          edited.targets[index].outsideHome = outside
          out.append(("path \(path) outside \(outside) #\(index)", edited))
        }
      }
      for mode in fileModes {
        for directory in dirModes {
          var edited = body
          edited.targets[index].fileMode = mode
          edited.targets[index].directoryMode = directory
          out.append(("modes \(mode) \(String(describing: directory)) #\(index)", edited))
        }
      }
      for user in users {
        for host in hosts {
          var edited = body
          edited.targets[index].user = user
          edited.targets[index].host = host
          out.append(("target \(user)@\(host) #\(index)", edited))
        }
      }
      for status in [TargetStatus.unchanged, .changes, .error] {
        var edited = body
        edited.targets[index].status = status
        out.append(("status \(status) #\(index)", edited))
      }
      for (asRoot, allowed) in [(true, false), (true, true), (false, true)] {
        var edited = body
        edited.targets[index].runsAsRoot = asRoot
        edited.targets[index].actAsRoot = allowed
        out.append(("root \(asRoot) \(allowed) #\(index)", edited))
      }
      var labelled = body
      labelled.targets[index].labels =
        labelled.targets[index].labels.map {
          var label = $0
          label.keyName = "harmless"
          label.reason = "nothing to see"
          return label
        } + [PlanFile.Label(action: .add, fingerprint: "SHA256:lie", line: nil, keyName: "x", reason: "lie")]
      out.append(("labels #\(index)", labelled))
      var duplicated = body
      duplicated.targets.append(body.targets[index])
      out.append(("duplicate target #\(index)", duplicated))
      // Content bytes flipped one at a time.
      if let text = body.targets[index].newContent, let data = Data(base64Encoded: text) {
        let bytes = Array(data)
        for position in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 40)) {
          for replacement: UInt8 in [0x0A, 0x20, 0x41, 0x23, 0x0D] {
            var flipped = bytes
            flipped[position] = replacement
            var edited = body
            edited.targets[index].newContent = Data(flipped).base64EncodedString()
            out.append(("content byte \(position) = \(replacement) #\(index)", edited))
          }
        }
      }
    }
    return out
  }

  /// The rendered block of one target: its header and indented lines.
  static func block(of id: TargetID, in text: String) -> [String]? {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let header = LineChange.printable(id.description, limit: 400) + " ("
    guard let start = lines.firstIndex(where: { $0.hasPrefix(header) }) else { return nil }
    return Array(lines[(start + 1)...].prefix { $0.hasPrefix("  ") })
  }

  /// Checks that what apply wrote to `id` is shown; returns the problems.
  static func shownProblems(
    _ id: TargetID, before: MemoryTransport.Account?, after: MemoryTransport.Account, text: String
  ) -> [String] {
    guard let block = block(of: id, in: text) else { return ["\(id) was written but is not shown"] }
    var problems: [String] = []
    let old = AuthorizedKeysFile(bytes: before?.content ?? [])
    let new = AuthorizedKeysFile(bytes: after.content ?? [])
    let oldRaw = Set(old.lines.map(\.raw))
    let newKeys = Set(new.lines.compactMap { $0.entry?.key })
    // keyward's own record, last and matching the lines before it, is bookkeeping, not a change
    // to show; any other line that looks like one must be shown like any comment.
    var body: [UInt8] = []
    for line in new.lines.dropLast() { body += line.raw + [0x0A] }
    let record = new.lines.last.flatMap { WriteRecord.parse($0.raw) }
    let recorded = record?.digest == ContentDigest.of(body)
    for (index, line) in new.lines.enumerated() where !oldRaw.contains(line.raw) {
      if recorded && index == new.lines.count - 1 { continue }
      if let entry = line.entry {
        let shown = block.contains {
          ($0.hasPrefix("  + ") || $0.hasPrefix("  ~ ")) && $0.contains(entry.key.fingerprint)
        }
        if !shown { problems.append("written key \(entry.key.fingerprint) not shown for \(id)") }
      } else if line.kind != .key {
        if !block.contains(where: { $0.hasPrefix("  + line ") }) {
          problems.append("written non-key line not shown for \(id)")
        }
      }
    }
    for line in old.lines {
      guard let entry = line.entry, !newKeys.contains(entry.key) else { continue }
      if !block.contains(where: { $0.hasPrefix("  - ") && $0.contains(entry.key.fingerprint) }) {
        problems.append("removed key \(entry.key.fingerprint) not shown for \(id)")
      }
    }
    if let mode = after.file?.mode {
      if !PlanModes.isAllowed(fileMode: mode) { problems.append("file mode \(mode) written to \(id)") }
      if let previous = before?.file?.mode, previous != mode,
        !block.contains("  * file mode \(FileAction.octal(previous)) -> \(FileAction.octal(mode))")
      {
        problems.append("file mode change not shown for \(id)")
      }
    }
    if let mode = after.directory?.mode, mode != before?.directory?.mode, mode != PlanModes.directory {
      problems.append("directory mode \(mode) written to \(id)")
    }
    if PathConfinement.problem(inPath: id.path, allowOutsideHome: true) != nil {
      problems.append("a refused path was written: \(id.path)")
    }
    if !PathConfinement.isInsideHome(id.path), !block.isEmpty,
      !(text.contains(LineChange.printable(id.path, limit: 400)) && text.contains("outside home"))
    {
      problems.append("a path outside home was written without saying so: \(id.path)")
    }
    return problems
  }

  @Test func everyTamperedPlanIsRefusedOrShowsWhatApplyWrites() async throws {
    let plan = Self.basePlan()
    #expect(plan.targets.filter { $0.status == .changes }.count == 3)
    let bytes = PlanFile.encode(plan)
    #expect(try PlanFile.decode(bytes) == plan)
    // The header opens the file, however large the plan: `apply FILE` tells plans from manifests by it.
    var large = plan
    large.targets[0].newContent = Array(repeating: 0x23, count: 100_000) + [0x0A]
    #expect(PlanFile.looksLikePlan(PlanFile.encode(large).prefix(4096)))
    let body = try Self.envelope(bytes).body

    var variants: [(String, [UInt8])] = []
    // Raw bytes changed, the digest left as it was.
    for position in stride(from: 0, to: bytes.count, by: 2) {
      for replacement: UInt8 in [0x30, 0x20] where bytes[position] != replacement {
        var changed = bytes
        changed[position] = replacement
        variants.append(("byte \(position)", changed))
      }
    }
    // The digest itself changed.
    var text = String(decoding: bytes, as: UTF8.self)
    if let range = text.range(of: "\"sha256:") {
      text.replaceSubrange(range.upperBound..<text.index(range.upperBound, offsetBy: 1), with: "f")
      variants.append(("digest", Array(text.utf8)))
    }
    // Edited on purpose, with a correct digest.
    for (name, edited) in Self.semanticVariants(body) { variants.append((name, Self.reencode(edited))) }
    // Edited, the old digest kept.
    for (name, edited) in Self.semanticVariants(body).prefix(300) {
      var envelope = try Self.envelope(bytes)
      envelope.body = edited
      variants.append(("stale digest " + name, DeterministicJSON.encode(envelope)))
    }

    var refused = 0
    var accepted = 0
    var written = 0
    var failures: [String] = []
    for (name, variant) in variants {
      let loaded: Plan
      do {
        loaded = try PlanFile.decode(variant)
      } catch {
        refused += 1
        continue
      }
      accepted += 1
      let memory = MemoryTransport(accounts: Self.accounts())
      let before = Self.accounts()
      let shown = TextPlanRenderer().render(loaded)
      _ = await Applier(verifyLogin: false).apply(loaded, transport: memory)
      for target in loaded.targets where memory.trace.contains("rename \(target.id)") {
        written += 1
        guard let after = memory.account(target.id) else { continue }
        let problems = Self.shownProblems(target.id, before: before[target.id], after: after, text: shown)
        if !problems.isEmpty { failures.append("\(name): " + problems.joined(separator: "; ")) }
      }
    }
    print(
      "tampered plan files: \(variants.count) variants, \(refused) refused, \(accepted) accepted"
        + " (\(written) targets written, each shown as written)")
    #expect(variants.count >= 2000)
    #expect(refused > 0 && accepted > 0)
    #expect(failures.isEmpty, "\(failures.prefix(10).joined(separator: "\n"))")
  }

  @Test func specificTamperingIsRefusedWithAReason() throws {
    let bytes = PlanFile.encode(Self.basePlan())
    let body = try Self.envelope(bytes).body
    func refusal(_ edit: (inout PlanFile.Body) -> Void) -> String {
      var edited = body
      edit(&edited)
      do {
        _ = try PlanFile.decode(Self.reencode(edited))
        return "accepted"
      } catch {
        return error.description
      }
    }
    #expect(
      refusal { $0.targets[0].fileMode = 0o4777 }.contains("file mode 4777 is not a mode keyward plans"))
    #expect(
      refusal { $0.targets[0].directoryMode = 0o777 }.contains(
        "directory mode 0777 is not a mode keyward plans"))
    #expect(refusal { $0.targets[0].path = "/root/.ssh/authorized_keys" }.contains("outside the user's home"))
    #expect(refusal { $0.targets[0].path = "%h/../bob/.ssh/authorized_keys" }.contains("'..'"))
    #expect(refusal { $0.targets[0].runsAsRoot = true }.contains("act_as_root"))
    #expect(
      refusal { $0.targets[0].newContent = Self.base64(TestKeys.alice + "\n# x\n" + TestKeys.bob) }
        .contains("not a list of changes"))
    #expect(refusal { $0.targets[0].observed!.content = Self.base64("x\n") }.contains("observed digest"))
    var text = String(decoding: bytes, as: UTF8.self)
    text = text.replacingOccurrences(of: "exclusive mode", with: "exclusive m0de")
    #expect(throws: PlanFileError.tampered(["its digest does not match its content"])) {
      try PlanFile.decode(Array(text.utf8))
    }
  }
}

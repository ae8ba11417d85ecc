import AuthorizedKeys
import Foundation
import Testing

@testable import KeywardCore

@Suite("Manifest resolution")
struct ManifestResolutionTests {
  static let keysDirectory = ManifestFixtureTests.root + "/keys"
  static func key(_ name: String) -> String {
    let data = FileManager.default.contents(atPath: "\(keysDirectory)/\(name).pub") ?? Data()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
  static let a = key("a")
  static let b = key("b")
  static let c = key("c")

  /// Loads inline manifest files (named as if they sat in the fixture directory).
  func load(_ files: [String], now: Date = ManifestFixtureTests.now) -> ManifestResult {
    let sources = files.enumerated().map { index, text in
      (file: ManifestFixtureTests.root + "/inline\(index).yaml", bytes: Array(text.utf8))
    }
    return ManifestLoader(now: now).load(sources: sources)
  }

  func state(_ files: String..., sourceLocation: Testing.SourceLocation = #_sourceLocation) throws
    -> DesiredState
  {
    let result = load(files)
    #expect(
      result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))", sourceLocation: sourceLocation)
    return try #require(result.state, sourceLocation: sourceLocation)
  }

  @Test func rulesBecomeSortedTargetsWithProvenance() throws {
    let state = try state(
      """
      version: 1
      keys:
        alice: \(Self.a)
        bob: \(Self.b)
      groups:
        admins: [alice, bob]
      hosts:
        web2: {}
        web1: { port: 2222 }
      host_groups:
        web: [web2, web1]
      access:
        - hosts: [web]
          users: [deploy, app]
          keys: [admins]
      """)
    #expect(state.targets.map(\.id.description) == ["app@web1", "deploy@web1", "app@web2", "deploy@web2"])
    let target = state.targets[1]
    #expect(target.mode == .exclusive)
    #expect(target.entries.map(\.keyName) == ["alice", "bob"])
    let entry = target.entries[0]
    #expect(entry.key == (try PublicKey(parsing: Self.a)))
    #expect(entry.comment == "a@fixture")
    #expect(entry.rule == "access[0]")
    #expect(entry.ruleLocation?.line == 13)
    #expect(entry.definition?.line == 3)
    #expect(entry.definition?.column == 10)
    #expect(state.hosts["web1"]?.port == 2222)
  }

  @Test func optionsExpiryAndProtection() throws {
    let state = try state(
      """
      version: 1
      defaults: { connect_as: root, port: 2200 }
      keys:
        ci:
          key: \(Self.a)
          options: { restrict: true, command: "/usr/bin/deploy --env \\"prod\\"", from: [10.0.0.0/8, 192.168.1.1] }
          expires: 2027-03-01
        glass:
          key: \(Self.b)
          protected: true
          comment: break glass
        raw:
          key: \(Self.c)
          options: 'no-pty,permitopen="localhost:80",permitopen="localhost:443"'
      hosts:
        h: {}
      access:
        - { hosts: [h], users: [deploy], keys: [ci, glass, raw], options: { no-agent-forwarding: true } }
      """)
    let entries = try #require(state.targets.first?.entries)
    #expect(
      KeyOptions.render(entries[0].options)
        == #"restrict,command="/usr/bin/deploy --env \"prod\"",from="10.0.0.0/8,192.168.1.1",expiry-time="20270301Z",no-agent-forwarding"#
    )
    #expect(entries[0].expires == Date(timeIntervalSince1970: 1_803_859_200))
    #expect(entries[1].isProtected && entries[1].comment == "break glass")
    #expect(
      KeyOptions.render(entries[2].options)
        == #"no-pty,permitopen="localhost:80",permitopen="localhost:443",no-agent-forwarding"#)
    #expect(state.protectedFingerprints == [try PublicKey(parsing: Self.b).fingerprint])
    #expect(state.hosts["h"]?.connectAs == "root")
    #expect(state.hosts["h"]?.port == 2200)
  }

  @Test func aKeyListedTwiceUnderOneNameIsTwoEntries() throws {
    let state = try state(
      """
      version: 1
      keys:
        alice:
          - { key: \(Self.a), options: { from: 10.0.0.0/8 } }
          - { key: \(Self.a), options: { from: 192.168.0.0/16, no-pty: true } }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [u], keys: [alice] }
        - { hosts: [h], users: [u], keys: [alice] }
      """)
    let entries = try #require(state.targets.first?.entries)
    #expect(entries.count == 2)
    #expect(entries.map { $0.options.first?.value } == ["10.0.0.0/8", "192.168.0.0/16"])
  }

  @Test func distinctEntriesGrantedAgainWithOtherRuleOptionsConflict() {
    let result = load([
      """
      version: 1
      keys:
        alice:
          - { key: \(Self.a), options: { from: 10.0.0.0/8 } }
          - { key: \(Self.a), options: { from: 192.168.0.0/16 } }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [u], keys: [alice] }
        - { hosts: [h], users: [u], keys: [alice], options: { no-pty: true } }
      """
    ])
    #expect(result.diagnostics.map(\.code) == [.conflictingOptions, .conflictingOptions])
    #expect(result.diagnostics.allSatisfy { $0.location?.line == 9 && $0.notes.count == 2 })
  }

  @Test func theSameKeyUnderTwoNamesWithDifferentOptionsConflicts() {
    let result = load([
      """
      version: 1
      keys:
        alice: \(Self.a)
        deploy: { key: \(Self.a), options: { restrict: true } }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [u], keys: [alice, deploy] }
      """
    ])
    #expect(result.diagnostics.map(\.code) == [.keyReused, .conflictingOptions])
    #expect(result.diagnostics.map(\.severity) == [.warning, .error])
  }

  @Test func theSameGrantTwiceIsOneEntry() throws {
    let state = try state(
      """
      version: 1
      keys: { alice: \(Self.a) }
      groups: { admins: [alice] }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [u], keys: [alice, admins] }
        - { hosts: ['*'], users: [u], keys: [admins] }
      """)
    #expect(state.targets.count == 1)
    #expect(state.targets[0].entries.count == 1)
  }

  @Test func ruleAndKeyOptionsWithDifferentValuesConflict() {
    let result = load([
      """
      version: 1
      keys:
        ci: { key: \(Self.a), options: { command: /bin/a } }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [u], keys: [ci], options: { command: /bin/b } }
      """
    ])
    #expect(result.diagnostics.map(\.code) == [.conflictingOptions])
    #expect(result.diagnostics.first?.location?.line == 6)
  }

  @Test(
    arguments: [
      ("%h/../bob/.ssh/authorized_keys", DiagnosticCode.invalidValue, 6),
      ("../../../etc/passwd", .invalidValue, 6),
      (".ssh/../../bob/.ssh/authorized_keys", .invalidValue, 6),
      ("/root/.ssh/authorized_keys", .pathOutsideHome, 6),
      ("/etc/passwd", .pathOutsideHome, 6),
      ("%u/authorized_keys", nil, 0),
      ("%h/.ssh/authorized_keys2", nil, 0),
    ] as [(String, DiagnosticCode?, Int)])
  func confinedPaths(path: String, code: DiagnosticCode?, line: Int) {
    let result = load([
      """
      version: 1
      keys: { alice: \(Self.a) }
      hosts: { h: {} }
      access:
        - hosts: [h]
          path: '\(path)'
          users: [alice]
          keys: [alice]
      """
    ])
    #expect(result.diagnostics.map(\.code) == (code.map { [$0] } ?? []), "\(result.diagnostics)")
    if code != nil {
      #expect(result.diagnostics.first?.location?.line == line)
      #expect(result.diagnostics.first?.location?.column == 11)
    }
  }

  @Test func actAsRootComesFromTheHostOrTheDefaults() throws {
    let state = try state(
      """
      version: 1
      defaults: { act_as_root: true }
      keys: { alice: \(Self.a) }
      hosts: { h: {}, strict: { act_as_root: false } }
      access:
        - { hosts: [h, strict], users: [u], keys: [alice] }
      """)
    #expect(state.targets.map { "\($0.id.host)=\($0.actAsRoot)" } == ["h=true", "strict=false"])
    #expect(state.hosts["h"]?.actAsRoot == true)
    #expect(state.hosts["strict"]?.actAsRoot == false)
  }

  @Test func pathsExpandUserAndKeepHost() throws {
    let state = try state(
      """
      version: 1
      defaults: { path: /etc/ssh/keys/%u/%h-100%% }
      keys: { alice: \(Self.a) }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [bob], keys: [alice], mode: additive, follow: true, outside_home: true }
      """)
    let target = try #require(state.targets.first)
    #expect(target.id.path == "/etc/ssh/keys/bob/%h-100%%")
    #expect(target.id.absolutePath(home: "/home/bob") == "/etc/ssh/keys/bob//home/bob-100%")
    #expect(target.mode == .additive)
    #expect(target.follow)
  }

  /// `%%` is a percent sign once: `%%u` is the text `%u`, never the user's name (the resolver
  /// and `absolutePath` each expanded it, so `%%u` became 'bob').
  @Test(arguments: [
    (".ssh/keys_%%u", "/home/bob/.ssh/keys_%u"),
    (".ssh/keys_%u", "/home/bob/.ssh/keys_bob"),
    (".ssh/100%%%u", "/home/bob/.ssh/100%bob"),
    (".ssh/a%%%%u", "/home/bob/.ssh/a%%u"),
  ])
  func percentIsExpandedOnce(path: String, absolute: String) throws {
    let state = try state(
      """
      version: 1
      keys: { alice: \(Self.a) }
      hosts: { h: {} }
      access:
        - { hosts: [h], users: [bob], keys: [alice], path: '\(path)' }
      """)
    let target = try #require(state.targets.first)
    #expect(target.id.absolutePath(home: "/home/bob") == absolute)
  }

  @Test func revocationsByNameFingerprintAndText() throws {
    let fingerprint = try PublicKey(parsing: Self.b).fingerprint
    let state = try state(
      """
      version: 1
      keys:
        alice: \(Self.a)
        carol: \(Self.c)
      revoked:
        - { key: carol, reason: left }
        - { fingerprint: \(fingerprint), reason: stolen }
        - { key: \(Self.a), reason: rotated }
        - { file: keys/b.pub, reason: lost }
      """)
    #expect(state.revoked.map(\.reason) == ["left", "stolen", "rotated", "lost"])
    #expect(state.revoked.map(\.keyName) == ["carol", nil, "alice", nil])
    #expect(state.revoked[3].fingerprint == fingerprint)
    #expect(state.revoked[1].fingerprint == fingerprint)
    #expect(state.targets.isEmpty)
  }

  @Test func everyProblemIsReportedInOneRun() {
    let result = load([
      """
      version: 1
      keys:
        alice: { key: \(Self.a), protected: no }
      hosts:
        h: { prot: 22 }
      access:
        - { hosts: [hh], users: [u], keys: [alicee], mode: exclusiv }
      """
    ])
    #expect(
      result.diagnostics.map(\.code) == [
        .ambiguousBoolean, .unknownField, .undefinedHost, .undefinedKey, .invalidValue,
      ])
    #expect(result.diagnostics.map(\.message).filter { $0.contains("did you mean") }.count == 4)
  }

  @Test(arguments: [
    ("on", DiagnosticCode.ambiguousBoolean), ("Yes", .ambiguousBoolean), ("'true'", .invalidType),
    ("True", .invalidType), ("1", .invalidType),
  ])
  func booleansAreStrict(spelling: String, code: DiagnosticCode) {
    let result = load(["version: 1\ndefaults:\n  follow: \(spelling)\n"])
    #expect(result.diagnostics.map(\.code) == [code])
    #expect(result.diagnostics.first?.location?.column == 11)
  }

  @Test(arguments: [
    ("'22'", DiagnosticCode.invalidType), ("022", .invalidValue), ("0x16", .invalidType),
    ("0", .invalidValue),
    ("2.2e1", .invalidType),
  ])
  func numbersAreDecimal(spelling: String, code: DiagnosticCode) {
    let result = load(["version: 1\ndefaults:\n  port: \(spelling)\n"])
    #expect(result.diagnostics.map(\.code) == [code])
  }

  @Test func mergeKeysWorkInManifests() throws {
    let state = try state(
      """
      version: 1
      keys: { alice: \(Self.a) }
      hosts:
        base: &base { port: 2222, connect_as: admin }
        h1: { <<: *base, hostname: 10.0.0.1 }
      access:
        - { hosts: [h1], users: [u], keys: [alice] }
      """)
    #expect(state.hosts["h1"]?.port == 2222)
    #expect(state.hosts["h1"]?.connectAs == "admin")
    #expect(state.hosts["h1"]?.hostname == "10.0.0.1")
  }

  @Test func transportFromDefaultsAndHosts() throws {
    let state = try state(
      """
      version: 1
      defaults: { transport: openssh }
      keys: { alice: \(Self.a) }
      hosts:
        h1: {}
        h2: { transport: libssh2 }
        h3: { transport: auto }
      access:
        - { hosts: [h1, h2, h3], users: [u], keys: [alice] }
      """)
    #expect(state.hosts["h1"]?.transport == .openssh)
    #expect(state.hosts["h2"]?.transport == .libssh2)
    #expect(state.hosts["h3"]?.transport == .auto)
    let bad = load(["version: 1\ndefaults:\n  transport: ssh2\n"])
    #expect(bad.diagnostics.map(\.code) == [.invalidValue])
    #expect(
      bad.diagnostics.first?.message.contains(
        "'defaults.transport' must be 'auto', 'libssh2' or 'openssh', not 'ssh2'") == true)
    #expect(bad.diagnostics.first?.location?.line == 3)
  }

  @Test func hostGroupAndJumpLoopsAreCycles() {
    let result = load([
      """
      version: 1
      hosts:
        a: { jump: b }
        b: { jump: a }
        c: { jump: user@bastion.example.com:2222 }
      host_groups:
        x: [a, y]
        y: [x]
      """
    ])
    #expect(result.diagnostics.map(\.code) == [.cycle, .cycle, .cycle])
    #expect(result.diagnostics.map { $0.location?.line ?? 0 } == [3, 4, 8])
  }

  @Test func hugeFilesAreRefusedWithoutReadingThemWhole() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "keyward-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("big.yaml").path
    let line = Array("# \(String(repeating: "x", count: 1021))\n".utf8)
    #expect(FileManager.default.createFile(atPath: file, contents: nil))
    let handle = try #require(FileHandle(forWritingAtPath: file))
    let chunk = Data(Array(repeating: line, count: 1024).joined())
    for _ in 0..<50 { handle.write(chunk) }
    try handle.close()
    let result = ManifestLoader().load(file)
    #expect(result.diagnostics.map(\.code) == [.fileTooLarge])
    #expect(result.diagnostics.first?.message.contains("16 MiB") == true)
    #expect(!result.isUnreadable)
  }
}

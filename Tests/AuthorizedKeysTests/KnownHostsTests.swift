import Foundation
import KeywardTestSupport
import Testing

@testable import AuthorizedKeys

/// The known_hosts parser and matcher: OpenSSH's pattern rules, markers, hashing, verdicts.
struct KnownHostsTests {
  @Test(
    "pattern lists match as match_hostname() does",
    arguments: [
      ("web1", "web1", HostPattern.ListMatch.positive),
      ("web1", "WEB1", .positive),
      ("WEB1", "web1", .positive),
      ("web1", "web2", .none),
      ("web1.example.com", "*.example.com", .positive),
      ("example.com", "*.example.com", .none),
      ("bad.example.com", "*.example.com,!bad.example.com", .negated),
      ("bad.example.com", "!bad.example.com", .negated),
      ("good.example.com", "!bad.example.com", .none),
      ("web7", "web?", .positive),
      ("web10", "web?", .none),
      ("[10.0.0.5]:2222", "[10.0.0.*]:2222", .positive),
      ("[10.0.0.5]:2222", "10.0.0.5", .none),
      ("10.0.0.5", "[10.0.0.5]:22", .none),
      ("a", "x,,a", .positive),
      ("", "x,,a", .positive),
      ("abc", "*b*", .positive),
      ("abc", "a*c*", .positive),
      ("abcbd", "a*bd", .positive),
      ("abcbe", "a*bd", .none),
      ("x", "**", .positive),
      ("x", "!*,x", .negated),
    ])
  func patterns(host: String, list: String, expected: HostPattern.ListMatch) {
    #expect(HostPattern.matchHostname(Array(host.utf8), list: Array(list.utf8)) == expected)
  }

  @Test("a sub-pattern of 1,023 bytes or more makes the whole list match nothing")
  func longSubPattern() {
    let long = String(repeating: "a", count: 1023)
    #expect(HostPattern.matchHostname(Array("x".utf8), list: Array("x,\(long)".utf8)) == .none)
    let shorter = String(repeating: "a", count: 1022)
    #expect(HostPattern.matchHostname(Array("x".utf8), list: Array("x,\(shorter)".utf8)) == .positive)
  }

  static let key = TestKeys.key(
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBht7mpK8yFMCddrfJzmXKZSv+4iCySjViGk47WC9b5m")

  func file(_ text: String) -> KnownHostsFile {
    KnownHostsFile(path: "kh", bytes: Array(text.utf8))
  }

  @Test(
    "lines OpenSSH skips are skipped",
    arguments: [
      "@bogus host KEY", "@revoked@revoked host KEY", "@revoked", "host", "host # KEY", "|2|abc|def KEY",
      "|1|AAAA|BBBB KEY", "host ssh-ed25519 AAAA", "host ssh-nonsense AAAAC3Nza",
    ])
  func skipped(line: String) {
    let text = line.replacingOccurrences(of: "KEY", with: Self.key.description)
    let parsed = file(text + "\n")
    #expect(parsed.entries.isEmpty)
    #expect(parsed.skippedLines == 1)
  }

  @Test("markers, comments and blank lines")
  func markers() throws {
    let k = Self.key.description
    let parsed = file(
      "# comment\n\n   \n@revoked * \(k)\n@cert-authority  *.example.com \(k) ca\n  web1,10.0.0.5 \(k) c\n"
        // OpenSSH ends a marker at the first space of the line, else the first TAB: a TAB after
        // the marker with spaces later on makes the line invalid (ssh-keygen -F agrees).
        + "@cert-authority\t*.example.com \(k)\n")
    #expect(parsed.entries.map(\.marker) == [.revoked, .certAuthority, .none])
    #expect(parsed.entries.map(\.line) == [4, 5, 6])
    #expect(parsed.entries(for: "web1").map(\.line) == [4, 6])
    #expect(parsed.entries(for: "a.example.com").map(\.line) == [4, 5])
    #expect(parsed.skippedLines == 1)
  }

  @Test("hashed names: HMAC-SHA1 with the line's salt; a damaged hash never matches")
  func hashed() {
    let salt = (0..<20).map { UInt8($0 * 7 % 256) }
    let field = KnownHostsEntry.hashedField("lab1", salt: salt)
    let parsed = file("\(field) \(Self.key)\n\(field.dropLast(2))AA \(Self.key)\n")
    #expect(parsed.entries.count == 2)
    #expect(parsed.entries(for: "lab1").map(\.line) == [1])
    #expect(parsed.entries(for: "lab2").isEmpty)
    // Hashed names are compared as given: OpenSSH lowercases the host before the lookup.
    #expect(parsed.entries(for: "LAB1").isEmpty)
  }

  @Test("verdicts: matched, changed for any other key, unknown, revoked over everything")
  func verdicts() throws {
    let fixtures = try KeyFixtures.get()
    func key(_ name: String) throws -> PublicKey {
      let k = try #require(fixtures.key(name))
      return try PublicKey(type: k.type, base64: k.base64)
    }
    let ed = try key("ed25519")
    let ecdsa = try key("ecdsa256")
    let ca = try key("ca-ed25519")
    let known = KnownHosts(files: [
      file("web1 \(ed)\nweb2 \(ecdsa)\n@cert-authority *.example.com \(ca)\n"),
      file("@revoked web3 \(ed)\nweb3 \(ed)\n"),
    ])
    #expect(known.verdict(for: ed, host: "web1") == .matched(known.entries(for: "web1")[0]))
    #expect(known.verdict(for: ed, host: "web2") == .changed(known: known.entries(for: "web2")))
    #expect(known.verdict(for: ed, host: "web9") == .unknown(certificateAuthorities: []))
    let caLines = known.entries(for: "a.example.com")
    #expect(known.verdict(for: ed, host: "a.example.com") == .unknown(certificateAuthorities: caLines))
    #expect(known.verdict(for: ed, host: "web3") == .revoked(known.entries(for: "web3")[0]))
    #expect(known.keyTypes(for: "web2") == ["ecdsa-sha2-nistp256"])
    #expect(known.keyTypes(for: "a.example.com").isEmpty)
    // A certificate is judged by its CA.
    let cert = try key("cert-ed25519-by-ed25519")
    #expect(known.verdict(for: cert, host: "a.example.com") == .matched(caLines[0]))
    #expect(known.verdict(for: cert, host: "web1") == .unknown(certificateAuthorities: []))
  }
}

/// known_hosts lookups compared with `ssh-keygen -F NAME -f FILE` on generated files: plain,
/// hashed (by ssh-keygen -H), wildcard, negated, `[host]:port`, markers and broken lines.
@Suite(.tags(.processes), .enabled(if: SSHKeygen.enabled, "needs ssh-keygen (always runs in CI)"))
struct KnownHostsDifferentialTests {
  static let names = [
    "lab1", "web1.example.com", "bad.example.com", "db.example.org", "10.0.0.5", "[10.0.0.5]:2222",
    "[lab1]:2200", "web7", "a?c", "abc", "x",
  ]
  static let patterns = [
    "*.example.com", "!bad.example.com", "web?", "web?.example.com", "*", "[10.0.0.*]:2222", "10.0.0.*",
    "lab*", "!lab1", "[lab1]:*", "LAB1", "WEB1.EXAMPLE.COM", "*.org", "a?c", "[*]:*", "!*.org",
  ]

  /// SplitMix64: reproducible cases without Foundation's random.
  struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  @Test("every lookup agrees with ssh-keygen -F (line numbers and markers)")
  func againstSSHKeygen() throws {
    let fixtures = try KeyFixtures.get()
    let keys = try ["ed25519", "ecdsa256", "ca-ed25519"].map { try #require(fixtures.key($0)).pair }
    let directory = try TemporaryDirectory(prefix: "keyward-kh")
    let dir = directory.url.path
    // Hashed fields made by ssh-keygen -H itself, one per name, so hashing is tested too.
    // ssh-keygen -H leaves names with wildcards alone.
    let hashable = Self.names.filter { !$0.contains("?") }
    let plain = hashable.map { "\($0) \(keys[0])" }.joined(separator: "\n") + "\n"
    try plain.write(toFile: dir + "/tohash", atomically: true, encoding: .utf8)
    let hashing = try SSHKeygen.run(["-q", "-H", "-f", dir + "/tohash"])
    #expect(hashing.status == 0, "\(hashing.stderr)")
    let hashedFields = try String(contentsOfFile: dir + "/tohash", encoding: .utf8)
      .split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    try #require(hashedFields.count == hashable.count && hashedFields.allSatisfy { $0.hasPrefix("|1|") })

    var random = Generator(state: 0x6b65_7977_6172_6431)
    var cases = 0
    var agreements = 0
    for round in 0..<30 {
      var lines: [String] = []
      for _ in 0..<10 {
        var hosts: String
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1:
          hosts = hashedFields.randomElement(using: &random)!
        case 2, 3, 4:
          hosts = (0..<Int.random(in: 1...3, using: &random)).map { _ in
            Self.names.randomElement(using: &random)!
          }.joined(separator: ",")
        default:
          hosts = (0..<Int.random(in: 1...3, using: &random)).map { _ in
            Bool.random(using: &random)
              ? Self.patterns.randomElement(using: &random)! : Self.names.randomElement(using: &random)!
          }.joined(separator: ",")
        }
        let marker = ["", "", "", "@revoked ", "@cert-authority ", "@bogus ", "@revoked\t"].randomElement(
          using: &random)!
        var key = keys.randomElement(using: &random)!
        switch Int.random(in: 0..<12, using: &random) {
        // A known type with a broken blob is not here: ssh-keygen -F checks only the type
        // token, ssh (load_hostkeys) parses the key and skips the line; the fleet differential
        // test compares those with ssh's verdicts.
        case 0: key = "ssh-nonsense AAAA"
        case 1: key = ""
        case 2: hosts = "# " + hosts
        case 3: hosts = "\t " + hosts
        default: break
        }
        lines.append("\(marker)\(hosts) \(key) comment")
      }
      let path = "\(dir)/known_hosts.\(round)"
      let text = lines.joined(separator: "\n") + "\n"
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      let parsed = KnownHostsFile(path: path, bytes: Array(text.utf8))
      for name in Self.names {
        let output = try SSHKeygen.run(["-F", name, "-f", path])
        let expected = Self.found(output.stdout)
        let actual = parsed.entries(for: name).map { entry -> String in
          switch entry.marker {
          case .none: return "\(entry.line)"
          case .revoked: return "\(entry.line) REVOKED"
          case .certAuthority: return "\(entry.line) CA"
          }
        }
        cases += 1
        if actual == expected { agreements += 1 }
        #expect(actual == expected, "\(name) in:\n\(text)")
      }
    }
    print("known_hosts lookups vs ssh-keygen -F: \(cases) cases, \(agreements) agreements")
    #expect(cases == 30 * Self.names.count)
  }

  /// `# Host NAME found: line N [REVOKED|CA]` lines, as "N" or "N MARKER".
  static func found(_ output: String) -> [String] {
    output.split(separator: "\n").compactMap { line -> String? in
      guard line.hasPrefix("# Host "), let range = line.range(of: " found: line ") else { return nil }
      return line[range.upperBound...].trimmingCharacters(in: .whitespaces)
    }
  }
}

/// Host certificates as OpenSSH's `check_host_cert()` judges them, on certificates made by
/// `ssh-keygen -s -h`.
@Suite(.tags(.processes), .enabled(if: SSHKeygen.enabled, "needs ssh-keygen (always runs in CI)"))
struct HostCertificateTests {
  func certificate(_ arguments: [String], caType: String = "ed25519") throws -> PublicKey {
    let directory = try TemporaryDirectory(prefix: "keyward-hostcert")
    let dir = directory.url.path
    #expect(try SSHKeygen.run(["-q", "-t", caType, "-N", "", "-f", dir + "/ca"]).status == 0)
    #expect(try SSHKeygen.run(["-q", "-t", "ed25519", "-N", "", "-f", dir + "/host"]).status == 0)
    let signed = try SSHKeygen.run(
      ["-q", "-s", dir + "/ca", "-I", "host1"] + arguments + [dir + "/host.pub"])
    #expect(signed.status == 0, "\(signed.stderr)")
    return try PublicKey(parsing: try String(contentsOfFile: dir + "/host-cert.pub", encoding: .utf8))
  }

  let now: UInt64 = 1_800_000_000  // 2027-01-15

  @Test("a host certificate for the name, in its window, is valid")
  func valid() throws {
    let key = try certificate(["-h", "-n", "lab1,127.0.9.1"])
    #expect(KnownHosts.checkHostCertificate(key, host: "lab1", now: now) == nil)
    #expect(KnownHosts.checkHostCertificate(key, host: "127.0.9.1", now: now) == nil)
  }

  @Test(
    "wrong name, user certificate, expired, not yet valid: refused with the reason; no principals: any name")
  func refused() throws {
    let key = try certificate(["-h", "-n", "lab1"])
    #expect(
      KnownHosts.checkHostCertificate(key, host: "lab2", now: now)?.contains("not a listed principal") == true
    )
    let user = try certificate(["-n", "lab1"])
    #expect(
      KnownHosts.checkHostCertificate(user, host: "lab1", now: now)?.contains("not a host certificate")
        == true)
    let window = try certificate(["-h", "-n", "lab1", "-V", "20200101:20210101"])
    #expect(KnownHosts.checkHostCertificate(window, host: "lab1", now: now)?.contains("expired") == true)
    let future = try certificate(["-h", "-n", "lab1", "-V", "20400101:20410101"])
    #expect(
      KnownHosts.checkHostCertificate(future, host: "lab1", now: now)?.contains("not yet valid") == true)
    let any = try certificate(["-h"])
    #expect(KnownHosts.checkHostCertificate(any, host: "whatever", now: now) == nil)
  }
}

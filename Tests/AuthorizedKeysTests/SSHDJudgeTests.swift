import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Testing

/// sshd is the judge: tricky lines go into a real user's authorized_keys on a real sshd
/// 9.2, and exactly the lines keyward calls valid must let their key log in.
@Suite(.tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd, ssh and unshare (always runs in CI)"))
struct SSHDJudgeTests {
  /// A tricky line: how to write it around its own key, and what the codec should say.
  struct Case: Sendable {
    var name: String
    /// `true` when the line is a valid key line (whether or not it can log in).
    var valid: Bool
    /// The fixture key to use (a fresh ed25519 key when `nil`).
    var fixture: String?
    /// Builds the line from the key's `type` and `base64`.
    var line: @Sendable (String, String) -> String
  }

  static func blob(_ base64: String, _ change: ([[UInt8]]) -> [[UInt8]]) -> String {
    Wire.encode(Wire.join(change(Wire.fields(Wire.decode(base64)))))
  }

  static let cases: [Case] = [
    Case(name: "BOM before the first line", valid: false) { "\u{FEFF}\($0) \($1)" },
    Case(name: "plain", valid: true) { "\($0) \($1) plain" },
    Case(name: "leading blanks", valid: true) { " \t \($0) \($1)" },
    Case(name: "CRLF without comment", valid: true) { "\($0) \($1)\r" },
    Case(name: "CRLF with comment", valid: true) { "\($0) \($1) c\r" },
    Case(name: "CR inside the base64", valid: true) { t, b in
      "\(t) \(b.prefix(20))\r\(b.dropFirst(20))"
    },
    Case(name: "trailing comma before the space", valid: true) { "no-pty, \($0) \($1)" },
    Case(name: "lone comma", valid: true) { ", \($0) \($1)" },
    Case(name: "space after a comma", valid: false) { "no-pty, no-user-rc \($0) \($1)" },
    Case(name: "type right after a comma", valid: false) { "no-pty,\($0) \($1)" },
    Case(name: "\\\\\" inside a command", valid: true) { #"command="echo a\\" x" "# + "\($0) \($1)" },
    Case(name: "\\\\\" closing a command", valid: false) { #"command="echo a\\" "# + "\($0) \($1)" },
    Case(name: "NBSP as separator", valid: false) { "\($0)\u{A0}\($1)" },
    Case(name: "NBSP before the comment", valid: false) { "\($0) \($1)\u{A0}comment" },
    Case(name: "options after the key are comment", valid: true) { "\($0) \($1) no-pty,command=\"false\"" },
    Case(name: "unknown option", valid: false) { "bogus \($0) \($1)" },
    Case(name: "upper-case key type", valid: false) { "\($0.uppercased()) \($1)" },
    Case(name: "upper-case option name", valid: true) { "NO-PTY \($0) \($1)" },
    Case(name: "flag matched by prefix", valid: false) { "restrictx \($0) \($1)" },
    Case(name: "restrict then pty", valid: true) { "restrict,pty \($0) \($1)" },
    Case(name: "vertical tab first", valid: false) { "\u{0B}\($0) \($1)" },
    Case(name: "NUL first", valid: false) { "\0\($0) \($1)" },
    Case(name: "NUL after the key", valid: true) { "\($0) \($1)\0garbage" },
    Case(name: "permitopen with a service name", valid: true) { "permitopen=\"db:ssh\" \($0) \($1)" },
    Case(name: "permitopen without a port", valid: false) { "permitopen=\"db\" \($0) \($1)" },
    Case(name: "environment name with a leading digit", valid: true) { "environment=\"1A=b\" \($0) \($1)" },
    Case(name: "expiry on 30 February", valid: true) { "expiry-time=\"20990230\" \($0) \($1)" },
    Case(name: "expiry in month 13", valid: false) { "expiry-time=\"20991301\" \($0) \($1)" },
    Case(name: "largest tunnel", valid: true) { "tunnel=\"2147483645\" \($0) \($1)" },
    Case(name: "second command", valid: false) { "command=\"true\",command=\"true\" \($0) \($1)" },
    Case(name: "token rsa-sha2-512", valid: true, fixture: "rsa2048") { _, b in "rsa-sha2-512 \(b)" },
    Case(name: "short name RSA inside the blob", valid: true, fixture: "rsa3072") { t, b in
      "\(t) " + blob(b) { [Array("RSA".utf8)] + $0.dropFirst() }
    },
    Case(name: "rsa-sha2-256 inside the blob", valid: true, fixture: "ca-rsa") { t, b in
      "\(t) " + blob(b) { [Array("rsa-sha2-256".utf8)] + $0.dropFirst() }
    },
    Case(name: "extra leading zeros in the mpints", valid: true, fixture: "rsa4096") { t, b in
      "\(t) " + blob(b) { f in [f[0]] + f.dropFirst().map { [0, 0] + $0 } }
    },
    Case(name: "non-zero unused base64 bits", valid: false, fixture: "ecdsa384") { t, b in
      var chars = Array(b)
      let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
      if let pad = chars.firstIndex(of: "="), let value = alphabet.firstIndex(of: chars[pad - 1]) {
        chars[pad - 1] = alphabet[value | 1]
      }
      return "\(t) \(String(chars))"
    },
    Case(name: "missing base64 padding", valid: false, fixture: "ecdsa521") { t, b in
      "\(t) \(b.replacingOccurrences(of: "=", with: ""))"
    },
    Case(name: "tabs as separators", valid: true, fixture: "ecdsa256") { "\t\($0)\t\t\($1)\tc" },
    Case(name: "token of another curve", valid: false, fixture: "ca-ecdsa256") { _, b in
      "ecdsa-sha2-nistp384 \(b)"
    },
  ]

  @Test("exactly the lines keyward calls valid let their key log in")
  func judge() async throws {
    let fixtures = try KeyFixtures.get()
    let work = try TemporaryDirectory(prefix: "keyward-judge")
    // Each line gets its own key, so a login proves that line (and only it) was accepted.
    var lines: [String] = []
    var privateKeys: [String] = []
    for (index, testCase) in Self.cases.enumerated() {
      let key: (type: String, base64: String, path: String)
      if let name = testCase.fixture {
        let fixture = try #require(fixtures.key(name))
        key = (fixture.type, fixture.base64, try #require(fixture.privateKeyPath))
      } else {
        key = try Self.freshKey(in: work.url.path, name: "k\(index)")
      }
      lines.append(testCase.line(key.type, key.base64))
      privateKeys.append(key.path)
    }
    // A certificate line parses but never authorises (spec §3.7): its key must not log in.
    let subject = try Self.freshKey(in: work.url.path, name: "subject")
    let ca = try #require(fixtures.key("ca-ed25519")?.privateKeyPath)
    let signed = try SSHKeygen.run(["-q", "-s", ca, "-I", "judge", "-n", "alice", subject.path + ".pub"])
    #expect(signed.status == 0, "\(signed.stderr)")
    let certificate = try String(contentsOfFile: subject.path + "-cert.pub", encoding: .utf8)
    lines.append(certificate.trimmingCharacters(in: .newlines))
    privateKeys.append(subject.path)

    let bytes = Array(lines.joined(separator: "\n").utf8) + [0x0A]
    let file = AuthorizedKeysFile(bytes: bytes)
    try #require(file.lines.count == lines.count)
    for (testCase, line) in zip(Self.cases, file.lines) {
      #expect(
        (line.kind == .key) == testCase.valid,
        "\(testCase.name): keyward says \(line.kind) \(line.error ?? "")")
    }
    #expect(file.lines.last?.kind == .key && file.lines.last?.entry?.key.isCertificate == true)

    try await Fleet.with(hosts: 1, subnet: 191) { fleet in
      try fleet.install(bytes: bytes, at: fleet.authorizedKeys(1, "alice"), uid: 2001)
      for (index, line) in file.lines.enumerated() {
        let name = index < Self.cases.count ? Self.cases[index].name : "certificate line"
        let usable = line.kind == .key && line.entry?.key.isCertificate == false
        let login = try await fleet.ssh("alice", 1, identity: privateKeys[index])
        #expect(
          (login.status == 0) == usable,
          "\(name): sshd login \(login.status == 0), keyward \(line.kind): \(login.output)")
      }
    }
  }

  /// A new ed25519 key pair; returns its public type and base64 and the private key path.
  static func freshKey(in directory: String, name: String) throws -> (
    type: String, base64: String, path: String
  ) {
    let path = directory + "/" + name
    let made = try SSHKeygen.run(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
    guard made.status == 0 else { throw FleetError(message: "ssh-keygen: \(made.stderr)") }
    let fields = try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ")
    return (String(fields[0]), String(fields[1]), path)
  }
}

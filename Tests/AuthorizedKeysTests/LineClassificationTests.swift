import AuthorizedKeys
import Testing

/// Line classification as sshd 9.2 does it (spec §1, §2, §3.1, §4, §9, §11).
struct LineClassificationTests {
  /// What a line should be.
  enum Expected: Sendable, CustomStringConvertible {
    case blank
    case comment
    /// A key line with these option names and this comment.
    case key(options: [String], comment: String?)
    /// sshd finds no key (silently skipped).
    case noKey
    /// A key type was found but its key is broken (silently skipped).
    case badKey
    /// sshd rejects the options with this error string.
    case badOptions(String)

    var description: String {
      switch self {
      case .blank: return "blank"
      case .comment: return "comment"
      case .key(let options, let comment): return "key \(options) \(comment ?? "nil")"
      case .noKey: return "no key"
      case .badKey: return "bad key"
      case .badOptions(let message): return "bad options '\(message)'"
      }
    }
  }

  struct Case: Sendable, CustomStringConvertible {
    var description: String
    var line: String
    var expected: Expected
  }

  static let key = Samples.ed25519

  static let cases: [Case] = [
    Case(description: "empty line", line: "", expected: .blank),
    Case(description: "spaces and tabs", line: "  \t ", expected: .blank),
    Case(description: "NUL first", line: "\0" + key, expected: .blank),
    Case(description: "comment", line: "# hello", expected: .comment),
    Case(description: "indented comment", line: " \t# " + key, expected: .comment),
    Case(description: "CR only is not blank", line: "\r", expected: .noKey),
    Case(description: "vertical tab then #", line: "\u{0B}# x", expected: .noKey),
    Case(description: "form feed then key", line: "\u{0C}" + key, expected: .noKey),
    Case(description: "plain key", line: key, expected: .key(options: [], comment: nil)),
    Case(
      description: "key and comment", line: key + " alice@laptop",
      expected: .key(options: [], comment: "alice@laptop")),
    Case(
      description: "comment keeps inner and trailing blanks", line: key + " \t a  b \t",
      expected: .key(options: [], comment: "a  b \t")),
    Case(description: "leading blanks", line: " \t " + key, expected: .key(options: [], comment: nil)),
    Case(
      description: "tabs as separators", line: key.replacingOccurrences(of: " ", with: "\t\t") + "\tc",
      expected: .key(options: [], comment: "c")),
    Case(description: "CRLF without comment", line: key + "\r", expected: .key(options: [], comment: nil)),
    Case(description: "CRLF with comment", line: key + " c\r", expected: .key(options: [], comment: "c")),
    Case(
      description: "only one CR is dropped", line: key + " c\r\r", expected: .key(options: [], comment: "c\r")
    ),
    Case(
      description: "# inside the comment", line: key + " # not special",
      expected: .key(options: [], comment: "# not special")),
    Case(
      description: "options after the key are comment", line: key + " no-pty,command=\"x\"",
      expected: .key(options: [], comment: "no-pty,command=\"x\"")),
    Case(description: "NUL ends the line", line: key + "\0no-pty", expected: .key(options: [], comment: nil)),
    Case(
      description: "options then key", line: "no-pty " + key,
      expected: .key(options: ["no-pty"], comment: nil)),
    Case(
      description: "many blanks after options", line: "no-pty \t   " + key + " c",
      expected: .key(options: ["no-pty"], comment: "c")),
    Case(
      description: "trailing comma before the space", line: "no-pty, " + key,
      expected: .key(options: ["no-pty"], comment: nil)),
    Case(description: "lone comma as options", line: ", " + key, expected: .key(options: [], comment: nil)),
    Case(
      description: "leading comma", line: ",no-pty " + key, expected: .key(options: ["no-pty"], comment: nil)),
    Case(description: "space after comma", line: "no-pty, no-user-rc " + key, expected: .noKey),
    Case(description: "key type right after a comma", line: "no-pty," + key, expected: .noKey),
    Case(description: "options alone", line: "no-pty,command=\"x\"", expected: .noKey),
    Case(description: "garbage options and a broken key", line: "bogus ssh-ed25519 AAAA", expected: .badKey),
    Case(description: "garbage before a key", line: "// " + key, expected: .badOptions("unknown key option")),
    Case(
      description: "unknown option before a key", line: "idle-timeout=\"5\" " + key,
      expected: .badOptions("unknown key option")),
    Case(
      description: "\\\\\" is an escaped quote after a backslash", line: #"command="echo a\\" x" "# + key,
      expected: .key(options: ["command"], comment: nil)),
    Case(
      description: "unterminated quote", line: #"command="echo a\\" "# + key,
      expected: .badOptions("invalid key option string")),
    Case(
      description: "quoted spaces in options", line: "command=\"a b  c\",no-pty " + key + " c",
      expected: .key(options: ["command", "no-pty"], comment: "c")),
    Case(
      description: "duplicate command", line: "command=\"a\",command=\"a\" " + key,
      expected: .badOptions("multiple \"command\" clauses")),
    Case(
      description: "bad expiry", line: "expiry-time=\"2099\" " + key,
      expected: .badOptions("invalid expires time")),
    Case(
      description: "bad permitopen", line: "permitopen=\"host\" " + key,
      expected: .badOptions("invalid permission port")),
    Case(
      description: "cert-authority with principals", line: "cert-authority,principals=\"a,b\" " + key,
      expected: .key(options: ["cert-authority", "principals"], comment: nil)),
    Case(description: "upper-case key type", line: "SSH-ED25519 " + Samples.ed25519Blob, expected: .noKey),
    Case(description: "type alone", line: "ssh-ed25519", expected: .badKey),
    Case(description: "type and blank", line: "ssh-ed25519 ", expected: .badKey),
    Case(description: "NBSP as separator", line: "ssh-ed25519\u{A0}" + Samples.ed25519Blob, expected: .noKey),
    Case(description: "NBSP before the comment", line: key + "\u{A0}c", expected: .badKey),
    Case(description: "BOM before the key", line: "\u{FEFF}" + key, expected: .noKey),
    Case(description: "unknown key type", line: "ssh-ed448 " + Samples.ed25519Blob, expected: .noKey),
    Case(
      description: "alias rsa-sha2-512", line: "rsa-sha2-512 " + Samples.rsa1024Blob + " x",
      expected: .key(options: [], comment: "x")),
    Case(description: "# after options", line: "no-pty #" + key, expected: .noKey),
    Case(
      description: "key, then a second key as comment", line: key + " " + Samples.rsa1024,
      expected: .key(options: [], comment: Samples.rsa1024)),
    Case(description: "a key as options before a key", line: Samples.rsa1024 + "x " + key, expected: .badKey),
  ]

  @Test("classification", arguments: cases)
  func classify(_ testCase: Case) throws {
    let line = AuthorizedKeysLine(text: testCase.line)
    switch testCase.expected {
    case .blank:
      #expect(line.kind == .blank)
    case .comment:
      #expect(line.kind == .comment)
    case .key(let options, let comment):
      #expect(line.kind == .key, "\(line.error ?? "")")
      let entry = try #require(line.entry)
      #expect(entry.options.map(\.name) == options)
      #expect(entry.comment == comment)
    case .noKey:
      #expect(line.kind == .invalid)
      guard case .noKey = line.problem else {
        Issue.record("expected no key, got \(String(describing: line.problem))")
        return
      }
    case .badKey:
      #expect(line.kind == .invalid)
      guard case .badKey = line.problem else {
        Issue.record("expected a bad key, got \(String(describing: line.problem))")
        return
      }
    case .badOptions(let message):
      #expect(line.kind == .invalid)
      guard case .badOptions(let error, _) = line.problem else {
        Issue.record("expected bad options, got \(String(describing: line.problem))")
        return
      }
      #expect(error.sshdMessage == message)
    }
    if line.kind == .invalid {
      let error = try #require(line.error)
      #expect(!error.isEmpty && error.first?.isLowercase == true && !error.hasSuffix("."))
    } else {
      #expect(line.error == nil)
    }
  }

  @Test("the key of an options line is the same key as the plain line")
  func sameKey() throws {
    let plain = try #require(AuthorizedKeysLine(text: Samples.ed25519).entry?.key)
    let optioned = try #require(AuthorizedKeysLine(text: "restrict " + Samples.ed25519 + " x").entry?.key)
    #expect(plain == optioned)
    #expect(plain.hashValue == optioned.hashValue)
  }

  @Test("an alias type is the same key as ssh-rsa, written as it was")
  func aliasIdentity() throws {
    let alias = try PublicKey(type: "rsa-sha2-512", base64: Samples.rsa1024Blob)
    let plain = try PublicKey(parsing: Samples.rsa1024)
    #expect(alias == plain)
    #expect(alias.type == "rsa-sha2-512")
    #expect(alias.algorithm == .rsa)
    #expect(alias.fingerprint == plain.fingerprint)
    #expect(Set([alias, plain]).count == 1)
  }

  @Test("bad options keep the key they were meant for")
  func badOptionsKeepKey() throws {
    let line = AuthorizedKeysLine(text: "bogus " + Samples.ecdsa256)
    guard case .badOptions(_, let key?) = line.problem else {
      Issue.record("expected bad options with a key")
      return
    }
    #expect(key == (try PublicKey(parsing: Samples.ecdsa256)))
  }

  @Test("actionable reasons for common mistakes")
  func reasons() {
    #expect(
      AuthorizedKeysLine(text: "SSH-ED25519 " + Samples.ed25519Blob).error?.contains("'ssh-ed25519'") == true)
    #expect(
      AuthorizedKeysLine(text: "no-pty, no-user-rc " + Samples.ed25519).error?.contains(
        "space after the comma") == true)
    #expect(
      AuthorizedKeysLine(text: "ssh-ed25519\u{A0}" + Samples.ed25519Blob).error?.contains(
        "non-breaking space") == true)
    #expect(AuthorizedKeysLine(text: "\r").error?.contains("carriage return") == true)
    #expect(
      AuthorizedKeysLine(text: "no-pty," + Samples.ed25519).error?.contains("separated from the options")
        == true)
  }
}

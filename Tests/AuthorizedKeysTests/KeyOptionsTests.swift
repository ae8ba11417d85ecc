import AuthorizedKeys
import Testing

/// The options grammar of `sshauthopt_parse()` (spec §5), on options fields that end
/// where the text ends (as in OpenSSH's own unit tests).
struct KeyOptionsTests {
  enum Expected: Sendable {
    /// Parses to these (name, value) pairs.
    case options([KeyOption])
    /// Fails with this sshd error string.
    case error(String)
  }

  struct Case: Sendable, CustomStringConvertible {
    var description: String
    var field: String
    var expected: Expected
  }

  static func flag(_ name: String) -> KeyOption { KeyOption(name: name, value: nil) }
  static func option(_ name: String, _ value: String) -> KeyOption { KeyOption(name: name, value: value) }

  static let cases: [Case] = [
    Case(description: "single flag", field: "no-pty", expected: .options([flag("no-pty")])),
    Case(
      description: "flag names are case-insensitive", field: "NO-Pty", expected: .options([flag("NO-Pty")])),
    Case(
      description: "order is kept", field: "pty,restrict",
      expected: .options([flag("pty"), flag("restrict")])),
    Case(
      description: "classic restriction list",
      field: "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc",
      expected: .options([
        flag("no-port-forwarding"), flag("no-agent-forwarding"), flag("no-X11-forwarding"),
        flag("no-user-rc"),
      ])),
    Case(
      description: "positive forms of negatable flags",
      field: "port-forwarding,agent-forwarding,x11-forwarding,pty,user-rc,touch-required,verify-required",
      expected: .options(
        [
          "port-forwarding", "agent-forwarding", "x11-forwarding", "pty", "user-rc", "touch-required",
          "verify-required",
        ].map(flag))),
    Case(
      description: "undocumented negations", field: "no-touch-required,no-verify-required",
      expected: .options([flag("no-touch-required"), flag("no-verify-required")])),
    Case(
      description: "cert-authority", field: "cert-authority", expected: .options([flag("cert-authority")])),
    Case(
      description: "cert-authority is not negatable", field: "no-cert-authority",
      expected: .error("unknown key option")),
    Case(
      description: "restrict is not negatable", field: "no-restrict", expected: .error("unknown key option")),
    Case(
      description: "flags match by prefix then fail", field: "restrictx",
      expected: .error("unknown key option")),
    Case(description: "restricted", field: "restricted", expected: .error("unknown key option")),
    Case(description: "flag with a value", field: "pty=\"x\"", expected: .error("unknown key option")),
    Case(description: "unknown option", field: "idle-timeout=\"5\"", expected: .error("unknown key option")),
    Case(description: "unicode hyphen", field: "no\u{2010}pty", expected: .error("unknown key option")),
    Case(
      description: "negated valued option", field: "no-command=\"x\"", expected: .error("unknown key option")),
    Case(
      description: "command", field: "command=\"echo hi\"", expected: .options([option("command", "echo hi")])
    ),
    Case(
      description: "valued names are case-insensitive", field: "Command=\"x\"",
      expected: .options([option("Command", "x")])),
    Case(description: "empty value", field: "command=\"\"", expected: .options([option("command", "")])),
    Case(
      description: "\\\" is the only escape and \\\\ is two backslashes", field: #"command="echo a\\" x""#,
      expected: .options([option("command", #"echo a\" x"#)])),
    Case(
      description: "escaped quotes", field: #"command="echo \"hi\"""#,
      expected: .options([option("command", #"echo "hi""#)])),
    Case(
      description: "spaces, commas, tabs and # inside quotes are literal", field: "command=\"a  b,\tc #d\"",
      expected: .options([option("command", "a  b,\tc #d")])),
    Case(
      description: "single quotes are not quotes", field: "command='x'",
      expected: .error("missing start quote")),
    Case(description: "unterminated value", field: "command=\"x", expected: .error("missing end quote")),
    Case(description: "space before =", field: "command =\"x\"", expected: .error("unknown key option")),
    Case(
      description: "second command, even identical", field: "command=\"a\",command=\"a\"",
      expected: .error("multiple \"command\" clauses")),
    Case(
      description: "second from", field: "from=\"a\",from=\"b\"",
      expected: .error("multiple \"from\" clauses")),
    Case(
      description: "second principals", field: "principals=\"a\",principals=\"b\"",
      expected: .error("multiple \"principals\" clauses")),
    Case(
      description: "from is not validated", field: "from=\"127.0.0.1/33\"",
      expected: .options([option("from", "127.0.0.1/33")])),
    Case(description: "empty from", field: "from=\"\"", expected: .options([option("from", "")])),
    Case(
      description: "principals list", field: "cert-authority,principals=\"a,b\"",
      expected: .options([flag("cert-authority"), option("principals", "a,b")])),
    Case(
      description: "environment", field: "environment=\"A=b c\"",
      expected: .options([option("environment", "A=b c")])),
    Case(
      description: "environment name may start with a digit", field: "environment=\"1A=\"",
      expected: .options([option("environment", "1A=")])),
    Case(
      description: "environment value may hold =", field: "environment=\"A=b=c\"",
      expected: .options([option("environment", "A=b=c")])),
    Case(
      description: "environment without =", field: "environment=\"A\"",
      expected: .error("invalid environment string")),
    Case(
      description: "environment with empty name", field: "environment=\"=b\"",
      expected: .error("invalid environment string")),
    Case(
      description: "environment name with -", field: "environment=\"A-B=c\"",
      expected: .error("invalid environment string")),
    Case(
      description: "environment duplicates are allowed", field: "environment=\"A=1\",environment=\"A=2\"",
      expected: .options([option("environment", "A=1"), option("environment", "A=2")])),
    Case(
      description: "expiry date", field: "expiry-time=\"20990101\"",
      expected: .options([option("expiry-time", "20990101")])),
    Case(
      description: "expiry with minutes", field: "expiry-time=\"209901011200\"",
      expected: .options([option("expiry-time", "209901011200")])),
    Case(
      description: "expiry with seconds and Z", field: "expiry-time=\"20990101120000Z\"",
      expected: .options([option("expiry-time", "20990101120000Z")])),
    Case(
      description: "expiry with utc in lower case", field: "expiry-time=\"20990101utc\"",
      expected: .options([option("expiry-time", "20990101utc")])),
    Case(
      description: "expiry 30 February is normalised", field: "expiry-time=\"20990230\"",
      expected: .options([option("expiry-time", "20990230")])),
    Case(
      description: "expiry leap second 60", field: "expiry-time=\"20990101235960Z\"",
      expected: .options([option("expiry-time", "20990101235960Z")])),
    Case(
      description: "expiry with 7 digits", field: "expiry-time=\"2099010\"",
      expected: .error("invalid expires time")),
    Case(
      description: "expiry month 13", field: "expiry-time=\"20991301\"",
      expected: .error("invalid expires time")),
    Case(
      description: "expiry minute 60", field: "expiry-time=\"209901012360Z\"",
      expected: .error("invalid expires time")),
    Case(
      description: "expiry at the epoch", field: "expiry-time=\"19700101Z\"",
      expected: .error("invalid expires time")),
    Case(
      description: "expiry before 1970", field: "expiry-time=\"19690101Z\"",
      expected: .error("invalid expires time")),
    Case(
      description: "expiry with junk suffix", field: "expiry-time=\"20990101X\"",
      expected: .error("invalid expires time")),
    Case(description: "expiry empty", field: "expiry-time=\"\"", expected: .error("invalid expires time")),
    Case(
      description: "expiry may repeat", field: "expiry-time=\"20990101\",expiry-time=\"20980101\"",
      expected: .options([option("expiry-time", "20990101"), option("expiry-time", "20980101")])),
    Case(
      description: "permitopen host:port", field: "permitopen=\"host:22\"",
      expected: .options([option("permitopen", "host:22")])),
    Case(
      description: "permitopen host/port", field: "permitopen=\"host/22\"",
      expected: .options([option("permitopen", "host/22")])),
    Case(
      description: "permitopen empty host", field: "permitopen=\":22\"",
      expected: .options([option("permitopen", ":22")])),
    Case(
      description: "permitopen +port", field: "permitopen=\"h:+22\"",
      expected: .options([option("permitopen", "h:+22")])),
    Case(
      description: "permitopen service name", field: "permitopen=\"h:ssh\"",
      expected: .options([option("permitopen", "h:ssh")])),
    Case(
      description: "permitopen any port", field: "permitopen=\"h:*\"",
      expected: .options([option("permitopen", "h:*")])),
    Case(
      description: "permitopen ipv6", field: "permitopen=\"[::1]:22\"",
      expected: .options([option("permitopen", "[::1]:22")])),
    Case(
      description: "permitopen without port", field: "permitopen=\"host\"",
      expected: .error("invalid permission port")),
    Case(
      description: "permitopen port 0", field: "permitopen=\"h:0\"",
      expected: .error("invalid permission port")),
    Case(
      description: "permitopen port 65536", field: "permitopen=\"h:65536\"",
      expected: .error("invalid permission port")),
    Case(
      description: "permitopen unknown service", field: "permitopen=\"h:nosuchservice\"",
      expected: .error("invalid permission port")),
    Case(
      description: "permitopen empty", field: "permitopen=\"\"", expected: .error("invalid permission port")),
    Case(
      description: "permitopen unclosed bracket", field: "permitopen=\"[::1:22\"",
      expected: .error("invalid permission hostname")),
    Case(
      description: "permitopen junk after bracket", field: "permitopen=\"[::1]x22\"",
      expected: .error("invalid permission hostname")),
    Case(
      description: "permitopen host of 1025 characters",
      field: "permitopen=\"" + String(repeating: "h", count: 1025) + ":22\"",
      expected: .error("invalid permission hostname")),
    Case(
      description: "permitlisten bare port", field: "permitlisten=\"8080\"",
      expected: .options([option("permitlisten", "8080")])),
    Case(
      description: "permitlisten star", field: "permitlisten=\"*\"",
      expected: .options([option("permitlisten", "*")])),
    Case(
      description: "permitlisten empty", field: "permitlisten=\"\"",
      expected: .error("invalid permission port")),
    Case(description: "tunnel any", field: "tunnel=\"ANY\"", expected: .options([option("tunnel", "ANY")])),
    Case(
      description: "tunnel maximum", field: "tunnel=\"2147483645\"",
      expected: .options([option("tunnel", "2147483645")])),
    Case(
      description: "tunnel above maximum", field: "tunnel=\"2147483646\"",
      expected: .error("invalid tun device")),
    Case(description: "tunnel negative", field: "tunnel=\"-1\"", expected: .error("invalid tun device")),
    Case(description: "tunnel text", field: "tunnel=\"tun0\"", expected: .error("invalid tun device")),
    Case(description: "leading comma", field: ",no-pty", expected: .options([flag("no-pty")])),
    Case(
      description: "double comma", field: "no-pty,,no-user-rc",
      expected: .options([flag("no-pty"), flag("no-user-rc")])),
    Case(
      description: "trailing comma at end of text", field: "no-pty,",
      expected: .error("unexpected end-of-options")),
    Case(description: "lone comma at end of text", field: ",", expected: .error("unexpected end-of-options")),
    Case(description: "a space ends the field", field: "no-pty junk", expected: .options([flag("no-pty")])),
    Case(description: "a NUL ends the field", field: "no-pty\0junk", expected: .options([flag("no-pty")])),
    Case(description: "empty field", field: "", expected: .options([])),
  ]

  @Test("options grammar", arguments: cases)
  func grammar(_ testCase: Case) {
    switch testCase.expected {
    case .options(let expected):
      #expect(throws: Never.self) { try KeyOptions.parse(testCase.field) }
      #expect((try? KeyOptions.parse(testCase.field)) == expected)
    case .error(let message):
      #expect {
        try KeyOptions.parse(testCase.field)
      } throws: { error in
        (error as? OptionsError)?.sshdMessage == message
      }
    }
  }

  @Test("environment allows 1025 distinct names, not 1026")
  func environmentLimit() throws {
    let ok = (0..<1025).map { "environment=\"V\($0)=x\"" }.joined(separator: ",")
    #expect(try KeyOptions.parse(ok).count == 1025)
    #expect(throws: OptionsError.tooManyEnvironment) { try KeyOptions.parse(ok + ",environment=\"V0=y\"") }
  }

  @Test("permitopen and permitlisten allow 4097 each, not 4098", arguments: ["permitopen", "permitlisten"])
  func permitLimit(name: String) throws {
    let ok = (0..<4097).map { _ in "\(name)=\"h:22\"" }.joined(separator: ",")
    #expect(try KeyOptions.parse(ok).count == 4097)
    #expect(throws: OptionsError.tooManyPermissions(option: name)) {
      try KeyOptions.parse(ok + ",\(name)=\"h:22\"")
    }
  }

  static let renderCases: [[KeyOption]] = [
    [],
    [flag("no-pty")],
    [flag("restrict"), option("command", "echo \"hi\" there"), flag("pty")],
    [option("command", #"a\b"#), option("from", "10.0.0.0/8,!10.1.*")],
    [option("command", #"echo a\" x"#)],
    [option("environment", "A=b c"), option("permitopen", "[::1]:22"), option("expiry-time", "20990101Z")],
    [option("command", "x,y z\ttab #hash 'single'")],
  ]

  @Test("render writes what parse reads back", arguments: renderCases)
  func renderRoundTrip(_ options: [KeyOption]) throws {
    let text = KeyOptions.render(options)
    #expect(try KeyOptions.parse(text) == options)
    try KeyOptions.check(options)
    // As a real line, the options still apply to the key.
    let line = AuthorizedKeysLine(text: options.isEmpty ? Samples.ed25519 : text + " " + Samples.ed25519)
    #expect(line.entry?.options == options)
  }

  @Test("render quotes values and escapes only double quotes")
  func renderForm() {
    #expect(
      KeyOptions.render([Self.flag("no-pty"), Self.option("command", #"say "x" \n"#)])
        == #"no-pty,command="say \"x\" \n""#)
  }

  @Test(
    "check refuses what sshd cannot read back",
    arguments: [
      [Self.option("command", #"ends in \"#)], [Self.option("command", "two\nlines")], [Self.flag("bogus")],
      [Self.option("permitopen", "host")], [Self.option("command", "a"), Self.option("command", "b")],
      [Self.flag("no pty")],
    ])
  func checkRefuses(_ options: [KeyOption]) {
    #expect(throws: OptionsError.self) { try KeyOptions.check(options) }
  }
}

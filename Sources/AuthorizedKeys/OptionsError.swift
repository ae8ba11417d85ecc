/// Why the options field of an authorized_keys line was refused.
///
/// The cases follow `sshauthopt_parse()` of sshd 9.2; ``sshdMessage`` is the exact
/// `<errstr>` sshd logs ("bad key options: …"), ``description`` adds what to fix.
public enum OptionsError: Error, Hashable, Sendable, CustomStringConvertible {
  /// An unterminated double quote: sshd logs "invalid key option string".
  case unterminatedQuote
  /// An unknown option name, a `no-` prefix on a name that is not negatable, or junk after an option.
  case unknownOption(String)
  /// The options field ends in a state where sshd expects another option (e.g. a trailing comma at end of text).
  case unexpectedEnd
  /// A valued option whose value does not start with `"`.
  case missingStartQuote(option: String)
  /// A valued option whose quoted value is not closed.
  case missingEndQuote(option: String)
  /// A second `command`, `principals` or `from` option.
  case multipleClauses(option: String)
  /// An `expiry-time` value that is not `YYYYMMDD[HHMM[SS]][Z|UTC]`.
  case invalidExpiryTime(String)
  /// An `environment` value that is not `NAME=value` with NAME in `[A-Za-z0-9_]+`.
  case invalidEnvironment(String)
  /// More than 1024 `environment` options.
  case tooManyEnvironment
  /// More than 4096 `permitopen` or `permitlisten` options.
  case tooManyPermissions(option: String)
  /// A `permitopen`/`permitlisten` value with a missing or malformed host.
  case invalidPermissionHostname(String)
  /// A `permitopen`/`permitlisten` value with a missing or malformed port.
  case invalidPermissionPort(String)
  /// A value ``KeyOptions/render(_:)`` cannot write so that sshd reads it back (it ends in
  /// a backslash, or holds a newline or NUL byte). Never produced by parsing.
  case unrepresentableValue(option: String)
  /// A `tunnel` value that is not `any` or a number from 0 to 2147483645.
  case invalidTunnel(String)

  /// The error string sshd 9.2 logs for this problem.
  public var sshdMessage: String {
    switch self {
    case .unterminatedQuote: return "invalid key option string"
    case .unknownOption: return "unknown key option"
    case .unexpectedEnd: return "unexpected end-of-options"
    case .missingStartQuote: return "missing start quote"
    case .missingEndQuote: return "missing end quote"
    case .multipleClauses(let option): return "multiple \"\(option)\" clauses"
    case .invalidExpiryTime: return "invalid expires time"
    case .invalidEnvironment: return "invalid environment string"
    case .tooManyEnvironment: return "too many environment strings"
    case .tooManyPermissions: return "too many permission directives"
    case .invalidPermissionHostname: return "invalid permission hostname"
    case .invalidPermissionPort: return "invalid permission port"
    case .invalidTunnel: return "invalid tun device"
    case .unrepresentableValue: return "unrepresentable value"
    }
  }

  public var description: String {
    switch self {
    case .unterminatedQuote:
      return "unterminated double quote in options; only \\\" escapes a quote inside a value"
    case .unknownOption(let text):
      return "unknown key option at '\(text)'; see 'man sshd' AUTHORIZED_KEYS FILE FORMAT"
    case .unexpectedEnd:
      return "unexpected end of options"
    case .missingStartQuote(let option):
      return "value of option '\(option)' must be double-quoted, e.g. \(option)=\"...\""
    case .missingEndQuote(let option):
      return "value of option '\(option)' has no closing double quote"
    case .multipleClauses(let option):
      return "option '\(option)' may appear only once"
    case .invalidExpiryTime(let value):
      return
        "invalid expiry-time '\(value)': expected YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally ending in Z"
    case .invalidEnvironment(let value):
      return "invalid environment '\(value)': expected NAME=value with NAME made of letters, digits and '_'"
    case .tooManyEnvironment:
      return "too many environment options (sshd allows 1024)"
    case .tooManyPermissions(let option):
      return "too many \(option) options (sshd allows 4096)"
    case .invalidPermissionHostname(let value):
      return "invalid host in '\(value)': expected host:port, [ipv6]:port or host/port"
    case .invalidPermissionPort(let value):
      return "invalid port in '\(value)': expected 1-65535, '*' or a service name"
    case .unrepresentableValue(let option):
      return
        "value of option '\(option)' cannot be written for sshd: it ends in a backslash or holds a newline or NUL"
    case .invalidTunnel(let value):
      return "invalid tunnel '\(value)': expected 'any' or a device number from 0 to 2147483645"
    }
  }
}

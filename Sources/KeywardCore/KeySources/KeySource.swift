import Foundation

/// A place keys are fetched from over HTTP(S): a GitHub or GitLab user's public keys
/// (`BASE/USER.keys`), or any URL serving an authorized_keys-style list.
///
/// Sources are identified by the exact URL they are fetched from: two manifest entries naming
/// the same user on the same instance share one pin in `keyward.lock`.
public struct KeySource: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// Where the keys live.
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case github
    case gitlab
    case url
  }

  /// The default base URLs of the hosted services.
  public static let defaultBaseURL: [Kind: String] = [
    .github: "https://github.com", .gitlab: "https://gitlab.com",
  ]

  public var kind: Kind
  /// The user name on GitHub or GitLab; `nil` for `url:` sources.
  public var user: String?
  /// The exact URL fetched.
  public var url: String

  /// A GitHub or GitLab user's keys under `baseURL` (the hosted service when `nil`).
  public init(kind: Kind, user: String, baseURL: String? = nil) throws(KeySourceError) {
    precondition(kind != .url, "use init(url:) for url sources")
    try Self.checkUser(user, kind: kind)
    var base = baseURL ?? Self.defaultBaseURL[kind] ?? ""
    while base.hasSuffix("/") { base.removeLast() }
    try Self.checkURL(base, what: "the base URL of '\(kind.rawValue): \(user)'", allowPath: true)
    self.kind = kind
    self.user = user
    self.url = base + "/" + user + ".keys"
  }

  /// Any URL serving one key per line.
  public init(url: String) throws(KeySourceError) {
    try Self.checkURL(url, what: "key source URL '\(url)'", allowPath: true)
    self.kind = .url
    self.user = nil
    self.url = url
  }

  /// How the source is written in a manifest, e.g. `github: alice` or `url: https://...`;
  /// a non-default base URL is named after the user.
  public var description: String {
    guard let user else { return "url: \(url)" }
    let standard = (Self.defaultBaseURL[kind] ?? "") + "/" + user + ".keys"
    return url == standard ? "\(kind.rawValue): \(user)" : "\(kind.rawValue): \(user) (\(baseURL))"
  }

  /// The base URL a GitHub or GitLab source was built from.
  var baseURL: String {
    guard let user else { return url }
    return String(url.dropLast(user.count + ".keys".count + 1))
  }

  /// Whether a redirect to `url` may be followed: https anywhere, http to loopback only.
  public static func checkRedirect(_ url: String) throws(KeySourceError) {
    try checkURL(url, what: "the redirect target", allowPath: true)
  }

  /// Outside text made safe to print: control characters escaped, long text cut.
  public static func display(_ text: String) -> String { DisplayText(text).text }

  public static func < (lhs: KeySource, rhs: KeySource) -> Bool { lhs.url < rhs.url }

  /// GitHub: letters, digits, single hyphens; GitLab: letters, digits, `._-`. Never `/`, `?`,
  /// `#`, `%` or `..`: the name becomes part of a URL path.
  static func checkUser(_ user: String, kind: Kind) throws(KeySourceError) {
    let extra: Set<Character> = kind == .github ? ["-"] : ["-", "_", "."]
    let ok =
      !user.isEmpty && user.count <= 255 && !user.hasPrefix("-") && !user.hasPrefix(".")
      && !user.contains("..")
      && user.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || extra.contains($0)) }
    if !ok {
      throw KeySourceError(
        "'\(DisplayText(user))' is not a \(kind == .github ? "GitHub" : "GitLab") user name (letters, digits, \(kind == .github ? "'-'" : "'._-'"))"
      )
    }
  }

  /// `https://` anywhere; plain `http://` only to a loopback address, where nobody can listen in.
  static func checkURL(_ text: String, what: String, allowPath: Bool) throws(KeySourceError) {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
      let host = components.host, !host.isEmpty, text.allSatisfy({ $0.isASCII && !$0.isWhitespace })
    else {
      throw KeySourceError("\(what) is not an absolute URL")
    }
    if components.user != nil || components.password != nil {
      throw KeySourceError("\(what) must not hold a user name or password")
    }
    if components.fragment != nil { throw KeySourceError("\(what) must not hold a '#' fragment") }
    switch scheme {
    case "https": return
    case "http" where isLoopback(host): return
    case "http":
      throw KeySourceError(
        "\(what) uses plain http: anyone on the path could change the keys; use https")
    default:
      throw KeySourceError("\(what) must use https, not '\(DisplayText(scheme))'")
    }
  }

  /// `localhost`, `127.0.0.0/8` and `::1`.
  static func isLoopback(_ host: String) -> Bool {
    let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    if name == "localhost" || name == "::1" { return true }
    let parts = name.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127"
      && parts.allSatisfy { part in part.allSatisfy(\.isNumber) && !part.isEmpty && (Int(part) ?? 256) < 256 }
  }
}

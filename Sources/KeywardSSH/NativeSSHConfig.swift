import AuthorizedKeys
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// ssh_config evaluated in-process for the settings keyward uses, so a run costs no `ssh -G`
/// process per host: the files are read once, their `Host` blocks flattened (with `Include`)
/// and indexed by literal host names.
///
/// It only answers when it is sure to answer as `ssh -G` would: a `Match` block,
/// `CanonicalizeHostname yes`, an unknown keyword, a token it does not expand, a time or
/// service-name value, an alias with upper case... makes it decline (nil), and the resolver
/// runs `ssh -G` for that host. `SSHConfigResolverDifferentialTests` compares both.
struct NativeSSHConfig: Sendable {
  /// One directive: lowercased keyword and its arguments.
  struct Directive: Sendable {
    var keyword: String
    var arguments: [String]
  }

  /// A run of directives under the `Host` lines that must all match (nested by `Include`).
  struct Block: Sendable {
    var conditions: [[String]]
    var directives: [Directive]
  }

  private let blocks: [Block]
  /// Blocks whose only condition lists literal names, by name.
  private let literal: [String: [Int]]
  /// Every other block (wildcards, negation, none).
  private let scanned: [Int]

  /// Keywords that change nothing keyward does (or that keyward reports from elsewhere).
  static let ignored: Set<String> = [
    "addkeystoagent", "batchmode", "challengeresponseauthentication", "ciphers", "clearallforwardings",
    "compression", "controlmaster", "controlpath", "controlpersist", "dynamicforward",
    "enableescapecommandline",
    "enablesshkeysign", "escapechar", "exitonforwardfailure", "fingerprinthash", "forkafterauthentication",
    "forwardagent", "forwardx11", "forwardx11timeout", "forwardx11trusted", "gatewayports",
    "gssapiauthentication", "gssapidelegatecredentials", "gssapikeyexchange", "gssapitrustdns",
    "hostbasedacceptedalgorithms", "hostbasedauthentication", "hostkeyalgorithms", "ipqos",
    "kbdinteractiveauthentication", "kbdinteractivedevices", "kexalgorithms", "localcommand", "localforward",
    "loglevel", "logverbose", "macs", "nohostauthenticationforlocalhost", "numberofpasswordprompts",
    "passwordauthentication", "permitlocalcommand", "permitremoteopen", "pkcs11provider",
    "preferredauthentications", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes", "pubkeyauthentication",
    "rekeylimit", "remotecommand", "remoteforward", "requesttty", "requiredrsasize", "securitykeyprovider",
    "sendenv", "serveralivecountmax", "serveraliveinterval", "sessiontype", "setenv", "stdinnull",
    "streamlocalbindmask", "streamlocalbindunlink", "syslogfacility", "tcpkeepalive", "tunnel",
    "tunneldevice",
    "updatehostkeys", "usekeychain", "verifyhostkeydns", "visualhostkey", "xauthlocation",
  ]

  /// Keywords it evaluates.
  static let handled: Set<String> = [
    "hostname", "port", "user", "identityfile", "identitiesonly", "userknownhostsfile",
    "globalknownhostsfile",
    "proxyjump", "proxycommand", "connecttimeout", "connectionattempts", "stricthostkeychecking",
    "hostkeyalias",
    "checkhostip", "hashknownhosts", "addressfamily", "bindaddress", "identityagent", "certificatefile",
    "bindinterface", "knownhostscommand", "revokedhostkeys", "proxyusefdpass", "canonicalizehostname",
  ]

  /// Reads the configuration `ssh [-F FILE]` would read: FILE, or `~/.ssh/config` then
  /// `/etc/ssh/ssh_config`. Nil when something in it needs OpenSSH itself (see the type).
  static func load(configFile: String?, home: String) -> NativeSSHConfig? {
    var blocks: [Block] = []
    let sources: [(path: String, base: String)] =
      configFile.map { [($0, home + "/.ssh")] } ?? [
        (home + "/.ssh/config", home + "/.ssh"), ("/etc/ssh/ssh_config", "/etc/ssh"),
      ]
    for source in sources {
      guard let text = KnownHostsStore.read(source.path) else {
        if configFile != nil { return nil }
        continue
      }
      guard read(text, base: source.base, home: home, outer: [], depth: 0, into: &blocks) else { return nil }
    }
    return NativeSSHConfig(blocks: blocks)
  }

  private init(blocks: [Block]) {
    self.blocks = blocks
    var literal: [String: [Int]] = [:]
    var scanned: [Int] = []
    for (index, block) in blocks.enumerated() {
      if block.conditions.count == 1,
        block.conditions[0].allSatisfy({ !$0.contains(where: { "*?!".contains($0) }) })
      {
        for name in Set(block.conditions[0]) { literal[name, default: []].append(index) }
      } else {
        scanned.append(index)
      }
    }
    self.literal = literal
    self.scanned = scanned
  }

  /// Splits a line as OpenSSH does: whitespace-separated words, `"..."` quoting, a `#` word
  /// ending the line; the keyword may be followed by `=`.
  static func words(_ line: Substring) -> [String]? {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quoted = false
    for character in line {
      if quoted {
        if character == "\"" { quoted = false } else { current.append(character) }
        continue
      }
      if character == " " || character == "\t" || character == "\r" {
        if inWord {
          words.append(current)
          current = ""
          inWord = false
        }
        continue
      }
      if character == "#" && !inWord { break }
      if character == "\"" {
        quoted = true
        inWord = true
        continue
      }
      current.append(character)
      inWord = true
    }
    if quoted { return nil }
    if inWord { words.append(current) }
    // `Keyword=value` and `Keyword = value`.
    if let first = words.first, let equals = first.firstIndex(of: "=") {
      let keyword = String(first[..<equals])
      let rest = String(first[first.index(after: equals)...])
      words = [keyword] + (rest.isEmpty ? [] : [rest]) + words.dropFirst()
    } else if words.count > 1, words[1] == "=" {
      words.remove(at: 1)
    } else if words.count > 1, words[1].hasPrefix("=") {
      words[1].removeFirst()
    }
    return words
  }

  private static func read(
    _ bytes: [UInt8], base: String, home: String, outer: [[String]], depth: Int, into blocks: inout [Block]
  ) -> Bool {
    guard depth < 16 else { return false }
    var current = Block(conditions: outer, directives: [])
    let text = String(decoding: bytes, as: UTF8.self)
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      guard let words = words(line) else { return false }
      guard let first = words.first else { continue }
      let keyword = first.lowercased()
      let arguments = Array(words.dropFirst())
      switch keyword {
      case "host":
        blocks.append(current)
        current = Block(conditions: outer + [arguments], directives: [])
      case "match":
        return false
      case "include":
        blocks.append(current)
        for pattern in arguments {
          var path = pattern
          if path.hasPrefix("~/") { path = home + path.dropFirst() }
          if !path.hasPrefix("/") { path = base + "/" + path }
          for file in glob(path) {
            guard let included = KnownHostsStore.read(file) else { continue }
            guard
              read(
                included, base: base, home: home, outer: current.conditions, depth: depth + 1, into: &blocks)
            else { return false }
          }
        }
        current = Block(conditions: current.conditions, directives: [])
      default:
        guard handled.contains(keyword) || ignored.contains(keyword), !arguments.isEmpty else { return false }
        if keyword == "canonicalizehostname", !["no", "false"].contains(arguments[0].lowercased()) {
          return false
        }
        current.directives.append(Directive(keyword: keyword, arguments: arguments))
      }
    }
    blocks.append(current)
    return true
  }

  private static func glob(_ pattern: String) -> [String] {
    var result = glob_t()
    defer { globfree(&result) }
    guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
    return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
  }

  /// Whether one `Host` line's patterns accept `host` (a negated match refuses the line).
  static func hostLineMatches(_ patterns: [String], _ host: String) -> Bool {
    var matched = false
    let name = Array(host.utf8)
    for pattern in patterns {
      let negated = pattern.hasPrefix("!")
      let body = Array((negated ? String(pattern.dropFirst()) : pattern).utf8)
      if HostPattern.matches(name, pattern: body) {
        if negated { return false }
        matched = true
      }
    }
    return matched
  }

  /// `ssh -G`-style lines for the settings keyward reads, or nil when only OpenSSH can tell.
  func resolve(_ alias: String, localUser: String, home: String) -> String? {
    guard alias == alias.lowercased(), !alias.isEmpty, !alias.hasPrefix("-") else { return nil }
    var indices = literal[alias] ?? []
    for index in scanned
    where blocks[index].conditions.allSatisfy({ Self.hostLineMatches($0, alias) }) {
      indices.append(index)
    }
    indices.sort()
    var values: [String: [String]] = [:]
    var identityFiles: [String] = []
    var certificateFiles: [String] = []
    var proxySet = false
    for index in indices {
      for directive in blocks[index].directives {
        let keyword = directive.keyword
        switch keyword {
        case "identityfile":
          if !identityFiles.contains(directive.arguments[0]) { identityFiles.append(directive.arguments[0]) }
        case "certificatefile":
          if !certificateFiles.contains(directive.arguments[0]) {
            certificateFiles.append(directive.arguments[0])
          }
        case "proxyjump", "proxycommand":
          // Whichever of the two comes first wins; the other is ignored.
          guard !proxySet else { continue }
          proxySet = true
          values[keyword] = directive.arguments
        default:
          if values[keyword] == nil { values[keyword] = directive.arguments }
        }
      }
    }
    func one(_ key: String) -> String? { values[key]?.first }
    var lines: [String] = []
    // HostName: %h and %% only, then lowercased, as ssh does.
    var hostname = alias
    if let configured = one("hostname") {
      guard let expanded = Self.expandHost(configured, alias: alias) else { return nil }
      hostname = expanded.lowercased()
    }
    lines.append("hostname \(hostname)")
    if let port = one("port") {
      guard let number = Int(port), (1...65535).contains(number) else { return nil }
      lines.append("port \(number)")
    } else {
      lines.append("port 22")
    }
    let user = one("user") ?? localUser
    guard !user.contains("%") else { return nil }
    lines.append("user \(user)")
    if identityFiles.isEmpty {
      identityFiles = [
        "id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa",
      ]
      .map { "~/.ssh/\($0)" }
    }
    for file in identityFiles {
      guard Self.onlySimpleTokens(file) else { return nil }
      lines.append("identityfile \(file)")
    }
    for file in certificateFiles { lines.append("certificatefile \(file)") }
    for key in ["userknownhostsfile", "globalknownhostsfile"] {
      guard let files = values[key] else { continue }
      guard files.allSatisfy(Self.onlySimpleTokens) else { return nil }
      lines.append("\(key) \(files.joined(separator: " "))")
    }
    if values["userknownhostsfile"] == nil {
      lines.append("userknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2")
    }
    if values["globalknownhostsfile"] == nil {
      lines.append("globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2")
    }
    if let jump = one("proxyjump"), jump != "none" {
      // ssh refuses a jump host that is the host itself: let it say so.
      if jump.split(separator: ",").contains(where: { JumpHop(String($0)).host == alias }) {
        return nil
      }
      lines.append("proxyjump \(jump)")
    }
    if let command = values["proxycommand"], command.first != "none" {
      lines.append("proxycommand \(command.joined(separator: " "))")
    }
    for key in ["connecttimeout", "connectionattempts"] {
      guard let value = one(key) else { continue }
      guard Int(value) != nil else { return nil }
      lines.append("\(key) \(value)")
    }
    if let strict = one("stricthostkeychecking") {
      switch strict.lowercased() {
      case "yes", "true": lines.append("stricthostkeychecking true")
      case "no", "false", "off": lines.append("stricthostkeychecking false")
      case "ask": lines.append("stricthostkeychecking ask")
      case "accept-new": lines.append("stricthostkeychecking accept-new")
      default: return nil
      }
    } else {
      lines.append("stricthostkeychecking ask")
    }
    for key in ["checkhostip", "hashknownhosts", "identitiesonly", "proxyusefdpass"] {
      guard let value = one(key)?.lowercased() else { continue }
      guard ["yes", "no"].contains(value) else { return nil }
      lines.append("\(key) \(value)")
    }
    if let family = one("addressfamily")?.lowercased() {
      guard ["any", "inet", "inet6"].contains(family) else { return nil }
      lines.append("addressfamily \(family)")
    }
    for key in [
      "hostkeyalias", "bindaddress", "identityagent", "bindinterface", "knownhostscommand", "revokedhostkeys",
    ] {
      guard let value = one(key) else { continue }
      guard !value.contains("%") || key == "knownhostscommand" else { return nil }
      lines.append("\(key) \(value)")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// `%h` and `%%` in HostName; nil for any other token.
  static func expandHost(_ text: String, alias: String) -> String? {
    var result = ""
    var iterator = text.makeIterator()
    while let c = iterator.next() {
      guard c == "%" else {
        result.append(c)
        continue
      }
      switch iterator.next() {
      case "h": result += alias
      case "%": result += "%"
      default: return nil
      }
    }
    return result
  }

  /// Paths with only the tokens the resolver's `expand` knows (`%d %u %h %r %%`).
  static func onlySimpleTokens(_ text: String) -> Bool {
    var iterator = text.makeIterator()
    while let c = iterator.next() {
      guard c == "%" else { continue }
      guard let token = iterator.next(), "duhr%".contains(token) else { return false }
    }
    return true
  }
}

import AuthorizedKeys

/// Turns a live fleet (a ``FleetSnapshot``) into manifest files whose next plan is empty.
///
/// Only the file keyward will manage (the first file sshd reads) is imported: keys in the
/// other files sshd reads, invalid lines, certificates and keys on several lines of one file
/// are listed as not imported, with host, file and line. Keys are deduplicated across the
/// fleet by (fingerprint, options) and named from their comments; targets with the same keys
/// become one access rule.
public struct FleetImporter: Sendable {
  /// A line that was not imported, and why.
  public struct Skipped: Hashable, Sendable {
    public var host: String
    public var user: String
    public var file: String
    public var line: Int?
    public var reason: String

    public var description: String {
      "\(user)@\(host):\(file)\(line.map { ":\($0)" } ?? ""): \(reason)"
    }
  }

  /// The manifest files to write (name → text) and what was left out.
  public struct Result: Sendable {
    public var files: [(name: String, text: String)]
    public var skipped: [Skipped]
    public var keyCount: Int
    public var ruleCount: Int
    public var targetCount: Int
  }

  public var mode: ManagementMode
  /// How to reach each host (written to `hosts:`).
  public var hosts: [String: HostSpec]
  /// `defaults.connect_as`, when set.
  public var connectAs: String?

  public init(mode: ManagementMode = .additive, hosts: [String: HostSpec] = [:], connectAs: String? = nil) {
    self.mode = mode
    self.hosts = hosts
    self.connectAs = connectAs
  }

  private struct Variant: Hashable {
    var key: PublicKey
    var options: String
  }

  public func run(_ snapshot: FleetSnapshot) -> Result {
    var skipped: [Skipped] = []
    var comments: [Variant: Set<String?>] = [:]
    var targets: [(host: String, user: String, path: String, variants: [Variant])] = []
    for account in snapshot.accounts {
      let absolute = account.settings.authorizedKeysPaths(
        user: account.user, home: account.account.home, uid: account.account.uid)
      guard let primary = account.files.first else {
        skipped.append(
          Skipped(
            host: account.host, user: account.user, file: "-", line: nil,
            reason: "sshd reads no authorized_keys file for this user (AuthorizedKeysFile none)"))
        continue
      }
      for (index, file) in account.files.enumerated() {
        let shown = index < absolute.count ? absolute[index] : file.path
        guard case .success(let observed) = file.result else {
          if case .failure(let error) = file.result {
            skipped.append(
              Skipped(host: account.host, user: account.user, file: shown, line: nil, reason: error.message))
          }
          continue
        }
        guard let content = observed.content else { continue }
        let lines = AuthorizedKeysFile(bytes: content).lines
        if index > 0 {
          for (number, line) in lines.enumerated() where line.kind == .key || line.kind == .invalid {
            skipped.append(
              Skipped(
                host: account.host, user: account.user, file: shown, line: number + 1,
                reason:
                  "in a file sshd also reads; keyward manages '\(absolute.first ?? primary.path)' (declare the key to move it there; exclusive mode removes it from here)"
              ))
          }
          continue
        }
        var seen: [PublicKey: Int] = [:]
        for line in lines where line.kind == .key {
          if let key = line.entry?.key { seen[key, default: 0] += 1 }
        }
        var variants: [Variant] = []
        for (number, line) in lines.enumerated() {
          func skip(_ reason: String) {
            skipped.append(
              Skipped(host: account.host, user: account.user, file: shown, line: number + 1, reason: reason))
          }
          switch line.kind {
          case .key:
            guard let entry = line.entry else { continue }
            if entry.key.isCertificate {
              skip("a certificate, not a key: trust its CA with 'cert-authority' instead")
            } else if seen[entry.key, default: 0] > 1 {
              skip("the same key is on \(seen[entry.key]!) lines of this file; keyward would keep only one")
            } else {
              let variant = Variant(key: entry.key, options: KeyOptions.render(entry.options))
              variants.append(variant)
              comments[variant, default: []].insert(entry.comment)
            }
          case .invalid:
            skip("not a valid key line: \(line.error ?? "invalid")")
          default:
            continue
          }
        }
        if !variants.isEmpty {
          targets.append((account.host, account.user, primary.path, variants))
        }
      }
    }

    // Names: from comments, sanitised, unique, in a stable order.
    var names: [Variant: String] = [:]
    var taken = Set<String>()
    let ordered = comments.keys.map { variant -> (String, Variant) in
      let comment = comments[variant]!.compactMap { $0 }.sorted().first
      return (Self.baseName(comment: comment, key: variant.key), variant)
    }.sorted { ($0.0, $0.1.key.fingerprint, $0.1.options) < ($1.0, $1.1.key.fingerprint, $1.1.options) }
    for (base, variant) in ordered {
      var name = base
      var n = 2
      while taken.contains(name) {
        name = "\(base)-\(n)"
        n += 1
      }
      taken.insert(name)
      names[variant] = name
    }

    // Rules: targets with the same keys and path; users with the same hosts share a rule.
    struct Group: Hashable {
      var keys: [String]
      var path: String
    }
    var byGroup: [Group: [String: Set<String>]] = [:]  // group -> user -> hosts
    for target in targets {
      let group = Group(keys: target.variants.map { names[$0]! }, path: target.path)
      byGroup[group, default: [:]][target.user, default: []].insert(target.host)
    }
    var rules: [(hosts: [String], users: [String], group: Group)] = []
    for (group, users) in byGroup {
      var byHosts: [[String]: [String]] = [:]
      for (user, hostSet) in users { byHosts[hostSet.sorted(), default: []].append(user) }
      for (hostList, userList) in byHosts { rules.append((hostList, userList.sorted(), group)) }
    }
    rules.sort {
      ($0.hosts.joined(separator: ","), $0.users.joined(separator: ","), $0.group.keys.joined(separator: ","))
        < (
          $1.hosts.joined(separator: ","), $1.users.joined(separator: ","),
          $1.group.keys.joined(separator: ",")
        )
    }

    // The files.
    var keysText =
      "# Imported by 'keyward import' from the files keyward manages (the first file sshd reads).\n"
    keysText += "version: 1\n\nkeys:\n"
    for (_, variant) in ordered {
      let name = names[variant]!
      let commentSet = comments[variant]!
      let comment = commentSet.count == 1 ? commentSet.first! : nil
      var text = variant.key.type + " " + variant.key.base64
      if let comment, !comment.isEmpty { text += " " + comment }
      if variant.options.isEmpty {
        keysText += "  \(name): \(Self.quoted(text))\n"
      } else {
        keysText += "  \(name): { key: \(Self.quoted(text)), options: \(Self.quoted(variant.options)) }\n"
      }
    }
    var hostsText = "version: 1\n\ndefaults:\n  mode: \(mode.rawValue)\n"
    if let connectAs { hostsText += "  connect_as: \(connectAs)\n" }
    hostsText += "\nhosts:\n"
    let allHosts = Set(snapshot.accounts.map(\.host)).union(targets.map(\.host)).sorted()
    for host in allHosts {
      let spec = hosts[host]
      var fields: [String] = []
      if let hostname = spec?.hostname { fields.append("hostname: \(Self.quoted(hostname))") }
      if let port = spec?.port { fields.append("port: \(port)") }
      if let user = spec?.connectAs, user != connectAs { fields.append("connect_as: \(user)") }
      hostsText +=
        "  \(Self.quoted(host)): {\(fields.isEmpty ? "" : " " + fields.joined(separator: ", ") + " ")}\n"
    }
    var accessText = "version: 1\n\naccess:\n"
    if rules.isEmpty { accessText = "version: 1\n\naccess: []\n" }
    for rule in rules {
      accessText += "  - hosts: [\(rule.hosts.map(Self.quoted).joined(separator: ", "))]\n"
      accessText += "    users: [\(rule.users.joined(separator: ", "))]\n"
      accessText += "    keys: [\(rule.group.keys.joined(separator: ", "))]\n"
      if rule.group.path != ".ssh/authorized_keys" {
        accessText += "    path: \(Self.quoted(rule.group.path))\n"
      }
    }
    if ordered.isEmpty { keysText = "version: 1\n\nkeys: {}\n" }
    hostsText =
      "# Imported by 'keyward import'. Review, commit, then run 'keyward plan' (it shows no changes).\n"
      + hostsText
    return Result(
      files: [("hosts.yaml", hostsText), ("keys.yaml", keysText), ("access.yaml", accessText)],
      skipped: skipped.sorted {
        ($0.host, $0.user, $0.file, $0.line ?? 0) < ($1.host, $1.user, $1.file, $1.line ?? 0)
      },
      keyCount: ordered.count, ruleCount: rules.count, targetCount: targets.count)
  }

  /// A key name from a comment: letters, digits and `._@+:-` kept, other runs become `-`.
  static func baseName(comment: String?, key: PublicKey) -> String {
    var name = ""
    for scalar in (comment ?? "").unicodeScalars {
      let keep = scalar.isASCII && (Self.isAlphanumeric(scalar) || "._@+:-".unicodeScalars.contains(scalar))
      if keep {
        name.unicodeScalars.append(scalar)
      } else if !name.hasSuffix("-") {
        name += "-"
      }
    }
    while name.hasPrefix("-") || name.hasPrefix(".") { name.removeFirst() }
    while name.hasSuffix("-") { name.removeLast() }
    if name.count > 48 { name = String(name.prefix(48)) }
    if name.isEmpty {
      let digits = key.fingerprint.dropFirst("SHA256:".count).filter { $0.isLetter || $0.isNumber }
      name = "key-" + digits.prefix(10)
    }
    return name
  }

  static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
  }

  /// A YAML double-quoted scalar.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          out += "\\x" + String(scalar.value, radix: 16).leftPadded(2)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}

extension String {
  fileprivate func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}

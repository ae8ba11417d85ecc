import AuthorizedKeys
import Foundation

/// Builds an ``AccessReport`` from a ``FleetSnapshot`` (and the manifests, when given). Pure.
///
/// Finding codes (stable): `unmanaged-key`, `key-in-other-file`, `dsa-key`, `disallowed-key-type`,
/// `weak-key` (both against the manifests' `policy:`, else the default policy),
/// `shared-key`, `no-expiry` (info), `unseen-access-path` (AuthorizedKeysCommand, a trusted
/// user CA, a `cert-authority` line), `password-login`, `unreadable-file`, `invalid-line` (info),
/// `account-refused` (info), `approximate-model` (info), `unknown-user`, `sshd-settings-unknown`,
/// `unused-key` (no login with it in sshd's log), `log-unreadable` (info).
public struct AccessReportBuilder: Sendable {
  public var desired: DesiredState?
  public var now: Date
  /// The key policy findings hold keys to: the manifests' own `policy:` when they are given,
  /// else the manifest language's default (every type but DSA, RSA of 2048 bits or more).
  public var policy: KeyPolicy

  public init(desired: DesiredState? = nil, now: Date = Date()) {
    self.desired = desired
    self.now = now
    self.policy = desired?.policy ?? .standard
  }

  public func build(_ snapshot: FleetSnapshot) -> AccessReport {
    var accounts: [AccessReport.Account] = []
    var findings: [AccessReport.Finding] = []
    var keys: [String: AccessReport.Key] = [:]
    var users: [String: Set<String>] = [:]
    var errors: [String] = []
    var declared: [String: Set<PublicKey>] = [:]  // user@host -> keys
    var names: [PublicKey: String] = [:]
    for target in desired?.targets ?? [] {
      for entry in target.entries {
        declared["\(target.id.user)@\(target.id.host)", default: []].insert(entry.key)
        if names[entry.key] == nil { names[entry.key] = entry.keyName }
      }
    }
    for host in NaturalOrder.sorted(snapshot.models.keys) {
      switch snapshot.models[host]! {
      case .failure(let error): errors.append(error.description)
      case .success(let model) where model.logins?.isReadable == false:
        findings.append(
          finding(
            "log-unreadable", "info", host: host,
            "sshd's log of logins on '\(host)' is not readable (\(model.logins!.source.dropFirst("unreadable".count).drop { $0 == ":" || $0 == " " })): unused keys are not reported"
          ))
        fallthrough
      case .success(let model) where model.isApproximate:
        guard model.isApproximate else { break }
        findings.append(
          finding(
            "approximate-model", "info", host: host,
            "sshd settings of '\(host)' are approximate: \(model.notes.first ?? "sshd_config evaluated by keyward")"
          ))
      default: break
      }
    }
    for unknown in snapshot.unknownSettings {
      let parts = unknown.split(separator: "@", maxSplits: 1).map(String.init)
      let model = parts.last.flatMap { snapshot.models[$0].flatMap { try? $0.get() } }
      findings.append(
        finding(
          "sshd-settings-unknown", "warning", host: parts.last, user: parts.first,
          "the files sshd reads for '\(parts.first ?? "")' on '\(parts.last ?? "")' are unknown: "
            + (model?.notes.last ?? "sshd's settings could not be read") + "; log in as root to read them"))
    }
    for missing in snapshot.missingUsers {
      let parts = missing.split(separator: "@", maxSplits: 1).map(String.init)
      findings.append(
        finding(
          "unknown-user", "warning", host: parts.last, user: parts.first,
          "user '\(parts.first ?? "")' does not exist on '\(parts.last ?? "")'"))
    }

    for item in snapshot.accounts {
      let settings = item.settings
      let home = item.account.home
      let absolute = settings.authorizedKeysPaths(user: item.user, home: home, uid: item.account.uid)
      let refusal = settings.publicKeyRefusal(
        user: item.user, uid: item.account.uid, groups: item.account.groups)
      var ways: [AccessReport.Way] = []
      let source = snapshot.models[item.host].flatMap { try? $0.get() }?.source.rawValue ?? "unknown"
      if let refusal {
        findings.append(
          finding(
            "account-refused", "info", host: item.host, user: item.user,
            "sshd refuses public keys for '\(item.user)' on '\(item.host)': \(refusal)"))
      }
      let managedKeys = declared["\(item.user)@\(item.host)"]
      for (index, file) in item.files.enumerated() {
        let path = index < absolute.count ? absolute[index] : file.path
        switch file.result {
        case .failure(let error):
          findings.append(
            finding(
              "unreadable-file", "warning", host: item.host, user: item.user, file: path,
              "cannot read '\(path)': \(error.message)"))
        case .success(let observed):
          guard let content = observed.content else { continue }
          for (number, line) in AuthorizedKeysFile(bytes: content).lines.enumerated() {
            if line.kind == .invalid {
              findings.append(
                finding(
                  "invalid-line", "info", host: item.host, user: item.user, file: path, line: number + 1,
                  "line \(number + 1) of '\(path)' is not a key sshd accepts: \(line.error ?? "invalid")"))
              continue
            }
            guard line.kind == .key, let entry = line.entry else { continue }
            let key = entry.key
            let fingerprint = key.fingerprint
            let expiry = entry.options.first { $0.name.lowercased() == "expiry-time" }?.value
            let isCA = entry.options.contains { $0.name.lowercased() == "cert-authority" }
            let managed = managedKeys.map { $0.contains(key) }
            ways.append(
              AccessReport.Way(
                kind: isCA ? "cert-authority" : "key", file: path, line: number + 1, fingerprint: fingerprint,
                keyType: key.type, keyName: names[key], comment: entry.comment,
                restrictions: entry.options.map { KeyOptions.render([$0]) }, expires: expiry, managed: managed
              ))
            let place = "\(item.user)@\(item.host):\(path):\(number + 1)"
            var record =
              keys[fingerprint]
              ?? AccessReport.Key(
                fingerprint: fingerprint, keyType: key.type, bits: key.bits, keyName: names[key],
                comments: [],
                opens: [])
            record.opens.append(place)
            if let comment = entry.comment, !record.comments.contains(comment) {
              record.comments.append(comment)
            }
            keys[fingerprint] = record
            users[fingerprint, default: []].insert(item.user)
            func keyFinding(_ code: String, _ severity: String, _ message: String) {
              findings.append(
                finding(
                  code, severity, host: item.host, user: item.user, fingerprint: fingerprint, file: path,
                  line: number + 1, message))
            }
            let label = names[key].map { "'\($0)' (\(fingerprint))" } ?? fingerprint
            if managed == false {
              keyFinding(
                "unmanaged-key", "warning",
                "key \(label) opens '\(item.user)@\(item.host)' but no manifest declares it there")
            }
            if index > 0 {
              keyFinding(
                "key-in-other-file", "warning",
                "key \(label) is in '\(path)', which sshd also reads; keyward manages '\(absolute.first ?? "")'"
              )
            }
            if key.algorithm.plain == .dsa {
              keyFinding(
                "dsa-key", "warning", "key \(label) is DSA: OpenSSH 9.8 and later refuse it; replace it")
            } else if !policy.allowedTypes.contains(key.algorithm.plain.plainName) {
              keyFinding(
                "disallowed-key-type", "warning",
                "key \(label) is of type '\(key.algorithm.plain.plainName)', which 'policy.allowed_types' does not allow"
              )
            } else if key.algorithm.plain == .rsa && key.bits < policy.minRSABits {
              keyFinding(
                "weak-key", "warning",
                "key \(label) is a \(key.bits)-bit RSA key; at least \(policy.minRSABits) bits are required")
            }
            if let logins = snapshot.models[item.host].flatMap({ try? $0.get() })?.logins, logins.isReadable,
              !isCA, !(logins.seen[item.user] ?? []).contains(fingerprint)
            {
              keyFinding(
                "unused-key", "warning",
                "key \(label) has not logged in to '\(item.user)@\(item.host)' in sshd's log (\(logins.source))"
              )
            }
            if isCA {
              keyFinding(
                "unseen-access-path", "warning",
                "'\(path)' trusts certificate authority \(label): any certificate it signs opens this account"
              )
            } else if expiry == nil {
              keyFinding("no-expiry", "info", "key \(label) has no expiry-time")
            }
          }
        }
      }
      if let command = settings.authorizedKeysCommand {
        let runAs = settings.authorizedKeysCommandUser.map { " (run as '\($0)')" } ?? ""
        ways.append(
          AccessReport.Way(kind: "authorized-keys-command", restrictions: [], detail: command + runAs))
        findings.append(
          finding(
            "unseen-access-path", "warning", host: item.host, user: item.user,
            "AuthorizedKeysCommand '\(command)' may return keys keyward cannot see"))
      }
      if let ca = settings.trustedUserCAKeys {
        var detail = "certificates naming '\(item.user)'"
        if let principals = item.principals {
          switch principals.result {
          case .success(let observed):
            let names = String(decoding: observed.content ?? [], as: UTF8.self)
              .split(whereSeparator: \.isNewline)
              .map { $0.trimmingCharacters(in: .whitespaces) }
              .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            detail =
              observed.content == nil
              ? "principals file '\(principals.path)' is missing: no certificate is accepted"
              : "principals from '\(principals.path)': " + names.joined(separator: ", ")
          case .failure(let error):
            detail = "principals file '\(principals.path)' unreadable: \(error.message)"
          }
        }
        if let command = settings.authorizedPrincipalsCommand {
          detail += "; AuthorizedPrincipalsCommand '\(command)'"
        }
        ways.append(AccessReport.Way(kind: "trusted-user-ca", file: ca, restrictions: [], detail: detail))
        findings.append(
          finding(
            "unseen-access-path", "warning", host: item.host, user: item.user, file: ca,
            "TrustedUserCAKeys '\(ca)': certificates signed by these CAs log in (\(detail))"))
      }
      if settings.allowsPassword(uid: item.account.uid) {
        let kinds = [
          settings.passwordAuthentication ? "password" : nil,
          settings.kbdInteractiveAuthentication ? "keyboard-interactive" : nil,
        ].compactMap { $0 }
        for kind in kinds {
          ways.append(AccessReport.Way(kind: kind, restrictions: [], detail: "\(kind) login enabled"))
        }
        findings.append(
          finding(
            "password-login", "warning", host: item.host, user: item.user,
            "\(kinds.joined(separator: " and ")) login is enabled for '\(item.user)' on '\(item.host)'"))
      }
      accounts.append(
        AccessReport.Account(
          host: item.host, user: item.user, source: source, files: absolute, refused: refusal, ways: ways))
    }
    for (fingerprint, record) in keys where (users[fingerprint]?.count ?? 0) > 1 || record.comments.count > 1
    {
      let label = record.keyName.map { "'\($0)' (\(fingerprint))" } ?? fingerprint
      findings.append(
        AccessReport.Finding(
          code: "shared-key", severity: "warning", fingerprint: fingerprint,
          message:
            "key \(label) opens \(users[fingerprint]?.count ?? 0) different accounts (\(record.opens.count) places)"
            + (record.comments.count > 1 ? " under \(record.comments.count) comments" : "")))
    }
    let sortedKeys = keys.values.map { key -> AccessReport.Key in
      var key = key
      key.opens.sort()
      return key
    }.sorted {
      ($0.keyName ?? "~" + $0.fingerprint, $0.fingerprint) < (
        $1.keyName ?? "~" + $1.fingerprint, $1.fingerprint
      )
    }
    // Findings about one key come in the order of the key list (by name), not of fingerprints,
    // which differ from fleet to fleet: the same keys under the same names read the same way.
    let rank = Dictionary(uniqueKeysWithValues: sortedKeys.enumerated().map { ($1.fingerprint, $0) })
    findings.sort {
      ($0.host ?? "", $0.user ?? "", $0.code, $0.file ?? "", $0.line ?? 0, rank[$0.fingerprint ?? ""] ?? -1)
        < (
          $1.host ?? "", $1.user ?? "", $1.code, $1.file ?? "", $1.line ?? 0, rank[$1.fingerprint ?? ""] ?? -1
        )
    }
    return AccessReport(
      withManifests: desired != nil, accounts: accounts, keys: sortedKeys, findings: findings, errors: errors)
  }

  private func finding(
    _ code: String, _ severity: String, host: String? = nil, user: String? = nil, fingerprint: String? = nil,
    file: String? = nil, line: Int? = nil, _ message: String
  ) -> AccessReport.Finding {
    AccessReport.Finding(
      code: code, severity: severity, host: host, user: user, fingerprint: fingerprint, file: file,
      line: line,
      message: message)
  }
}

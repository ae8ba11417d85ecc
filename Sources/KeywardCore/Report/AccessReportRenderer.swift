import Foundation

/// Renders an ``AccessReport`` as text (tables a person reads), JSON, CSV or Markdown.
/// Control characters from hosts (comments, commands) are written as `\xNN`, never raw.
public enum AccessReportRenderer {
  public static func json(_ report: AccessReport) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(report)) ?? Data()
    return String(decoding: data, as: UTF8.self) + "\n"
  }

  /// One row per way in (`key` rows carry the key columns), then one row per finding
  /// (`way` = `finding:CODE`).
  public static func csv(_ report: AccessReport) -> String {
    var rows = [
      [
        "host", "user", "way", "file", "line", "fingerprint", "key_type", "key_name", "comment",
        "restrictions",
        "expires", "managed", "detail",
      ]
    ]
    for account in report.accounts {
      for way in account.ways {
        rows.append([
          account.host, account.user, way.kind, way.file ?? "", way.line.map(String.init) ?? "",
          way.fingerprint ?? "", way.keyType ?? "", way.keyName ?? "", way.comment ?? "",
          way.restrictions.joined(separator: " "), way.expires ?? "",
          way.managed.map { $0 ? "yes" : "no" } ?? "",
          way.detail ?? "",
        ])
      }
    }
    for finding in report.findings {
      rows.append([
        finding.host ?? "", finding.user ?? "", "finding:" + finding.code, finding.file ?? "",
        finding.line.map(String.init) ?? "", finding.fingerprint ?? "", "", "", "", "", "", "",
        finding.message,
      ])
    }
    return rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
  }

  static func csvField(_ value: String) -> String {
    let clean = sanitize(value)
    // A leading = + - @ would be a formula in a spreadsheet.
    let guarded = clean.first.map { "=+-@".contains($0) } == true ? "'" + clean : clean
    guard guarded.contains(where: { ",\"\n".contains($0) }) else { return guarded }
    return "\"" + guarded.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  public static func text(_ report: AccessReport) -> String {
    var out = ""
    for account in report.accounts {
      let refused = account.refused.map { "  (sshd refuses public keys: \($0))" } ?? ""
      out += "\(account.user)@\(account.host)  [\(account.source)]\(refused)\n"
      out += "  files sshd reads: \(account.files.isEmpty ? "none" : account.files.joined(separator: ", "))\n"
      var rows: [[String]] = []
      for way in account.ways {
        let what = way.keyName ?? way.fingerprint ?? way.detail ?? ""
        let place = way.file.map { $0 + (way.line.map { ":\($0)" } ?? "") } ?? ""
        let extra = [
          way.fingerprint != nil && way.keyName != nil ? way.fingerprint! : nil,
          way.comment, way.restrictions.isEmpty ? nil : way.restrictions.joined(separator: ","),
          way.managed.map { $0 ? "managed" : "unmanaged" },
        ].compactMap { $0 }.joined(separator: "  ")
        rows.append([way.kind, what, place, extra])
      }
      out += table(rows, indent: "  ")
      if account.ways.isEmpty { out += "  (no way in)\n" }
    }
    if !report.keys.isEmpty {
      out += "\nKeys\n"
      out += table(
        report.keys.map { key in
          [
            key.keyName ?? key.fingerprint, key.keyName == nil ? "" : key.fingerprint, key.keyType,
            "\(key.opens.count) place\(key.opens.count == 1 ? "" : "s")",
            key.comments.joined(separator: " | "),
          ]
        }, indent: "  ")
    }
    if !report.findings.isEmpty {
      out += "\nFindings\n"
      // One line per key for keys without an expiry (the JSON and CSV list every place).
      var noExpiry: [String: Int] = [:]
      for finding in report.findings where finding.code == "no-expiry" {
        noExpiry[finding.fingerprint ?? "", default: 0] += 1
      }
      for key in report.keys where noExpiry[key.fingerprint] != nil {
        let label = key.keyName.map { "'\($0)' (\(key.fingerprint))" } ?? key.fingerprint
        let count = noExpiry[key.fingerprint]!
        out +=
          "  info    [no-expiry] key \(sanitize(label)) has no expiry-time (\(count) place\(count == 1 ? "" : "s"))\n"
      }
      for finding in report.findings where finding.code != "no-expiry" {
        let scope = [finding.user.map { $0 + "@" + (finding.host ?? "") }].compactMap { $0 }.first ?? ""
        out += "  \(finding.severity == "warning" ? "warning" : "info   ") [\(finding.code)] "
        out += (scope.isEmpty ? "" : scope + ": ") + sanitize(finding.message) + "\n"
      }
    }
    for error in report.errors { out += "error: \(sanitize(error))\n" }
    let warnings = report.findings.count { $0.severity == "warning" }
    out += "\n\(report.accounts.count) accounts, \(report.keys.count) keys, \(warnings) findings"
    out += ", \(report.findings.count - warnings) notes, \(report.errors.count) unreachable hosts\n"
    return out
  }

  public static func markdown(_ report: AccessReport) -> String {
    var out = "## Access report\n\n"
    out += "| account | way | what | file | restrictions | managed |\n| --- | --- | --- | --- | --- | --- |\n"
    for account in report.accounts {
      for way in account.ways {
        let what = [way.keyName, way.fingerprint, way.comment, way.detail].compactMap { $0 }.joined(
          separator: " ")
        let place = way.file.map { $0 + (way.line.map { ":\($0)" } ?? "") } ?? ""
        out +=
          "| \(cell(account.user + "@" + account.host)) | \(way.kind) | \(cell(what)) | \(cell(place)) | "
          + "\(cell(way.restrictions.joined(separator: ","))) | \(way.managed.map { $0 ? "yes" : "**no**" } ?? "") |\n"
      }
    }
    if !report.findings.isEmpty {
      out += "\n### Findings\n\n| severity | code | account | message |\n| --- | --- | --- | --- |\n"
      for finding in report.findings {
        let scope = finding.user.map { $0 + "@" + (finding.host ?? "") } ?? ""
        out += "| \(finding.severity) | `\(finding.code)` | \(cell(scope)) | \(cell(finding.message)) |\n"
      }
    }
    for error in report.errors { out += "\n- error: \(cell(error))" }
    return out + "\n"
  }

  static func cell(_ text: String) -> String {
    sanitize(text).replacingOccurrences(of: "|", with: "\\|")
  }

  /// Control characters as `\xNN`.
  static func sanitize(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      if scalar.value < 0x20 || scalar.value == 0x7F || (scalar.value >= 0x80 && scalar.value < 0xA0) {
        out += String(format: "\\x%02X", scalar.value)
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  static func table(_ rows: [[String]], indent: String) -> String {
    let clean = rows.map { $0.map(sanitize) }
    guard let columns = clean.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: columns)
    for row in clean { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    return clean.map { row in
      indent
        + row.enumerated().map { i, cell in
          i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
    }.joined()
  }
}

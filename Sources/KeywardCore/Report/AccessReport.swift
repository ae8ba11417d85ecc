/// Who can log in where, and by which path: per account every way in, per key every account
/// it opens, and findings with stable codes. A plain value; rendered as text, JSON, CSV or
/// Markdown. `format_version` 1 (JSON schema: `schemas/report.schema.json`).
public struct AccessReport: Hashable, Sendable, Codable {
  /// One way into an account.
  public struct Way: Hashable, Sendable, Codable {
    /// `key`, `authorized-keys-command`, `trusted-user-ca`, `cert-authority`, `password`, `keyboard-interactive`.
    public var kind: String
    /// For keys: the file and line; otherwise the setting's value.
    public var file: String?
    public var line: Int?
    public var fingerprint: String?
    public var keyType: String?
    public var keyName: String?
    public var comment: String?
    /// `from=`, `command=`, `restrict`, `expiry-time`, `principals=` as written.
    public var restrictions: [String]
    public var expires: String?
    /// With manifests: whether the manifests declare this key for this account.
    public var managed: Bool?
    public var detail: String?

    enum CodingKeys: String, CodingKey {
      case kind, file, line, fingerprint, comment, restrictions, expires, managed, detail
      case keyType = "key_type"
      case keyName = "key_name"
    }
  }

  /// One account on one host.
  public struct Account: Hashable, Sendable, Codable {
    public var host: String
    public var user: String
    /// `sshd -T` or `sshd_config` (approximate).
    public var source: String
    /// The file keyward manages (the first file sshd reads) and the others sshd reads.
    public var files: [String]
    /// Why sshd refuses public keys for this account, if it does.
    public var refused: String?
    public var ways: [Way]
  }

  /// One key and every account it opens.
  public struct Key: Hashable, Sendable, Codable {
    public var fingerprint: String
    public var keyType: String
    public var bits: Int
    public var keyName: String?
    public var comments: [String]
    /// `user@host:file:line`, sorted.
    public var opens: [String]

    enum CodingKeys: String, CodingKey {
      case fingerprint, bits, comments, opens
      case keyType = "key_type"
      case keyName = "key_name"
    }
  }

  /// Something a person should look at.
  public struct Finding: Hashable, Sendable, Codable {
    /// A stable code: see ``AccessReportBuilder``.
    public var code: String
    /// `warning` (counts for the exit status) or `info`.
    public var severity: String
    public var host: String?
    public var user: String?
    public var fingerprint: String?
    public var file: String?
    public var line: Int?
    public var message: String
  }

  public var formatVersion = 1
  /// True when manifests were given (keys are marked managed or unmanaged).
  public var withManifests: Bool
  public var accounts: [Account]
  public var keys: [Key]
  public var findings: [Finding]
  /// Hosts that could not be read.
  public var errors: [String]

  enum CodingKeys: String, CodingKey {
    case formatVersion = "format_version"
    case withManifests = "with_manifests"
    case accounts, keys, findings, errors
  }

  /// True when there is a finding of severity `warning` (exit status 3).
  public var hasFindings: Bool { findings.contains { $0.severity == "warning" } }
}

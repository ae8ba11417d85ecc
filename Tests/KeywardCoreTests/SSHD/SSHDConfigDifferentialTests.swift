import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The sshd_config evaluator against the real `sshd -T -C ... -f CONFIG` on generated configs:
/// global settings, duplicates (first wins), `Keyword=value`, quotes, comments, `Include`s (with
/// their own `Match` blocks) and `Match` blocks on User, Group, Host, Address, LocalAddress,
/// LocalPort and `all`, for several connections each.
@Suite(.tags(.processes)) struct SSHDConfigDifferentialTests {
  static var canRun: Bool {
    getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
  }

  @Test(.enabled(if: canRun || ProcessInfo.processInfo.environment["CI"] == "true"))
  func evaluatorAgreesWithSSHD() throws {
    let dir = try Fleet.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let key = dir + "/hostkey"
    let made = try Fleet.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])
    #expect(made.status == 0)
    var generator = ConfigGenerator(seed: 0x5EED, dir: dir)
    let connections = [
      SSHDConnection(user: "root", groups: ["root"], host: "admin.example.com", address: "10.1.2.3"),
      SSHDConnection(user: "alice", host: "laptop", address: "127.0.0.1"),
      SSHDConnection(
        user: "nobody", groups: ["nogroup"], host: "ci.example.org", address: "192.168.7.9",
        localAddress: "127.0.0.2", localPort: 2222),
      SSHDConnection(user: "bob", host: "bob.example.com", address: "10.200.0.1", localPort: 2222),
    ]
    var compared = 0
    var refused = 0
    var mismatches: [String] = []
    var kinds: [String: Int] = [:]
    var refusals: [String: Int] = [:]
    for round in 0..<150 {
      let text = generator.config(hostKey: key, round: round)
      let path = "\(dir)/sshd_config.\(round)"
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      let config = SSHDConfig.load(path: path, reader: LocalConfigReader())
      for connection in connections {
        let real = try Self.sshdTest(path, connection)
        guard real.status == 0 else {
          refused += 1
          refusals[real.output.split(separator: "\n").first.map(String.init) ?? "", default: 0] += 1
          continue
        }
        compared += 1
        let expected = SSHDSettings(sshdTestOutput: real.output)
        let got = SSHDConfigEvaluator.evaluate(config, connection: connection)
        if got != expected {
          let difference = Self.difference(got, expected)
          if kinds[difference] == nil {
            mismatches.append("round \(round) \(connection.user): \(difference)\n--- config\n\(text)")
          }
          kinds[difference, default: 0] += 1
        }
      }
    }
    print(
      "SSHDConfigDifferentialTests: \(compared) (config, connection) cases agree with sshd -T; \(refused) refused by sshd"
    )
    for (reason, count) in refusals.sorted(by: { $0.value > $1.value }) {
      print("  refused \(count)x: \(reason)")
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(8).joined(separator: "\n"))")
    #expect(compared >= 450)
  }

  /// `sshd -T` run from `/`, as a daemon is (relative paths in the config are taken from there).
  static func sshdTest(_ config: String, _ connection: SSHDConnection) throws -> (
    status: Int32, output: String
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/sshd")
    process.arguments = ["-T", "-f", config, "-C", connection.testSpec]
    process.currentDirectoryURL = URL(fileURLWithPath: "/")
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  static func difference(_ got: SSHDSettings, _ expected: SSHDSettings) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let a = (try? JSONSerialization.jsonObject(with: encoder.encode(got))) as? [String: Any] ?? [:]
    let b = (try? JSONSerialization.jsonObject(with: encoder.encode(expected))) as? [String: Any] ?? [:]
    return a.keys.sorted().compactMap { key in
      let x = "\(a[key] ?? "nil")"
      let y = "\(b[key] ?? "nil")"
      return x == y ? nil : "\(key): evaluator \(x), sshd \(y)"
    }.joined(separator: "; ")
  }
}

/// Reads config files from this machine.
struct LocalConfigReader: SSHDConfigReader {
  func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
  func list(_ directory: String) -> [String]? {
    try? FileManager.default.contentsOfDirectory(atPath: directory)
  }
}

/// Random sshd_config files from a fixed seed.
struct ConfigGenerator {
  var state: UInt64
  let dir: String

  init(seed: UInt64, dir: String) {
    state = seed
    self.dir = dir
  }

  mutating func next(_ bound: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(bound))
  }

  mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }

  static let anywhere: [(String, [String])] = [
    (
      "AuthorizedKeysFile",
      [
        ".ssh/authorized_keys", ".ssh/authorized_keys .ssh/authorized_keys2", "%h/.ssh/keys_%u",
        "/etc/ssh/keys/%u .ssh/authorized_keys", "none", "\".ssh/quoted_keys\"",
      ]
    ),
    ("AuthorizedKeysCommand", ["/usr/local/bin/akc %u %f", "none", "/usr/bin/sss_ssh_authorizedkeys %u"]),
    ("AuthorizedKeysCommandUser", ["nobody", "root"]),
    ("TrustedUserCAKeys", ["user_ca.pub", "/etc/ssh/ca.pub", "none"]),
    ("AuthorizedPrincipalsFile", [".ssh/principals", "/etc/ssh/principals/%u", "none"]),
    ("AuthorizedPrincipalsCommand", ["/usr/local/bin/apc %u", "none"]),
    ("AuthorizedPrincipalsCommandUser", ["nobody"]),
    ("RevokedKeys", ["revoked", "/etc/ssh/revoked_keys", "none"]),
    ("PubkeyAuthentication", ["yes", "no", "Yes"]),
    (
      "PubkeyAcceptedAlgorithms",
      ["ssh-ed25519,rsa-sha2-512", "+ssh-rsa", "-rsa-sha2-256", "^ssh-ed25519", "-*cert*"]
    ),
    ("AuthenticationMethods", ["any", "publickey", "publickey,password publickey,keyboard-interactive"]),
    ("PasswordAuthentication", ["yes", "no"]),
    ("KbdInteractiveAuthentication", ["yes", "no"]),
    ("ChallengeResponseAuthentication", ["yes", "no"]),
    ("PermitRootLogin", ["yes", "no", "prohibit-password", "without-password", "forced-commands-only"]),
    ("AllowUsers", ["alice bob", "root@10.0.0.0/8", "*", "nobody"]),
    ("DenyUsers", ["bob", "al*", "!root,*x*"]),
    ("AllowGroups", ["root nogroup", "wheel"]),
    ("DenyGroups", ["nogroup", "users"]),
    ("ForceCommand", ["/bin/echo hello  world", "internal-sftp", "none"]),
  ]
  static let globalOnly: [(String, [String])] = [
    ("StrictModes", ["yes", "no"]),
    ("UsePAM", ["yes", "no"]),
    ("X11Forwarding", ["no"]),
    ("Port", ["22"]),
  ]
  static let criteria = [
    "User alice", "User \"al*,!bob\"", "User root,nobody", "Group root", "Group nogroup,!root",
    "Host *.example.com", "Host laptop", "Address 10.0.0.0/8", "Address 127.0.0.1,192.168.0.0/16",
    "Address !10.200.0.0/16,10.0.0.0/8", "LocalPort 2222", "LocalAddress 127.0.0.2", "all",
    "User bob Address 10.0.0.0/8", "User root Host admin.*",
  ]

  mutating func directive(matchable: Bool) -> String {
    let table = matchable || next(5) > 0 ? Self.anywhere : Self.globalOnly
    let (keyword, values) = pick(table)
    let value = pick(values)
    let spelled = next(4) == 0 ? keyword.lowercased() : keyword
    switch next(6) {
    case 0: return "\(spelled)=\(value)"
    case 1: return "  \(spelled) \(value) # trailing comment"
    default: return "\(spelled) \(value)"
    }
  }

  mutating func block(_ count: Int, matchable: Bool) -> [String] {
    (0..<count).map { _ in directive(matchable: matchable) }
  }

  mutating func config(hostKey: String, round: Int) -> String {
    var lines = [
      "# generated \(round)", "HostKey \(hostKey)", "AuthorizedKeysCommandUser nobody",
      "AuthorizedPrincipalsCommandUser nobody", "",
    ]
    lines += block(next(8), matchable: false)
    if next(3) == 0 {
      let included = "\(dir)/included.\(round).conf"
      var inner = block(next(4), matchable: false)
      if next(2) == 0 {
        inner.append("Match \(pick(Self.criteria))")
        inner += block(1 + next(3), matchable: true)
      }
      try? inner.joined(separator: "\n").write(toFile: included, atomically: true, encoding: .utf8)
      lines.append("Include \(dir)/included.\(round).*")
      lines += block(next(3), matchable: false)
    }
    for _ in 0..<next(4) {
      lines.append("Match \(pick(Self.criteria))")
      lines += block(1 + next(4), matchable: true)
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

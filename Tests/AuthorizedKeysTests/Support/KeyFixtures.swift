import Foundation

/// Keys and certificates made once per test run with the real `ssh-keygen` (RSA 4096 is
/// slow, so every test shares them). Created lazily by the first test that asks.
final class KeyFixtures: Sendable {
  /// One generated public key or certificate.
  struct Key: Sendable, CustomStringConvertible {
    var name: String
    var type: String
    var base64: String
    var comment: String
    /// Path of the private key (plain keys only), for logins.
    var privateKeyPath: String?
    var isCertificate: Bool { type.contains("-cert-v01@") }
    /// `type base64`.
    var pair: String { type + " " + base64 }
    var description: String { name }
  }

  let directory: TemporaryDirectory
  let keys: [Key]
  /// ssh-keygen's own fingerprint of each key's `type blob` pair, by key name.
  let expected: [String: SSHKeygen.Fingerprint]
  /// Whether the installed ssh-keygen still makes DSA keys.
  let hasDSA: Bool

  static let shared: Result<KeyFixtures, any Error> = Result { try KeyFixtures() }

  /// The shared fixtures, or the error that made them impossible.
  static func get() throws -> KeyFixtures { try shared.get() }

  func key(_ name: String) -> Key? { keys.first { $0.name == name } }

  private init() throws {
    directory = try TemporaryDirectory(prefix: "keyward-keys")
    let dir = directory.url.path
    // (name, ssh-keygen arguments) for plain keys.
    var plain: [(String, [String])] = [
      ("ed25519", ["-t", "ed25519"]),
      ("ecdsa256", ["-t", "ecdsa", "-b", "256"]),
      ("ecdsa384", ["-t", "ecdsa", "-b", "384"]),
      ("ecdsa521", ["-t", "ecdsa", "-b", "521"]),
      ("rsa2048", ["-t", "rsa", "-b", "2048"]),
      ("rsa3072", ["-t", "rsa", "-b", "3072"]),
      ("rsa4096", ["-t", "rsa", "-b", "4096"]),
      ("ca-ed25519", ["-t", "ed25519"]),
      ("ca-ecdsa256", ["-t", "ecdsa", "-b", "256"]),
      ("ca-ecdsa384", ["-t", "ecdsa", "-b", "384"]),
      ("ca-ecdsa521", ["-t", "ecdsa", "-b", "521"]),
      ("ca-rsa", ["-t", "rsa", "-b", "2048"]),
    ]
    plain.append(("dsa", ["-t", "dsa"]))
    var made: [String] = []
    var dsa = false
    for (name, arguments) in plain {
      let output = try SSHKeygen.run(
        ["-q"] + arguments + ["-N", "", "-C", "\(name)@keyward-test", "-f", "\(dir)/\(name)"])
      if output.status == 0 {
        made.append(name)
        if name == "dsa" { dsa = true }
      } else if name != "dsa" {
        throw GenerationFailed(step: "ssh-keygen \(arguments.joined(separator: " "))", stderr: output.stderr)
      }
    }
    hasDSA = dsa
    // (certificate name, CA, subject key, extra arguments)
    var certificates: [(String, String, String, [String])] = [
      ("cert-ed25519-by-ed25519", "ca-ed25519", "ed25519", []),
      ("cert-rsa2048-by-ed25519", "ca-ed25519", "rsa2048", ["-n", "alice,bob"]),
      ("cert-ecdsa256-by-ecdsa384", "ca-ecdsa384", "ecdsa256", []),
      ("cert-ed25519-by-ecdsa256", "ca-ecdsa256", "ed25519", ["-O", "force-command=/bin/true"]),
      ("cert-ecdsa521-by-ecdsa521", "ca-ecdsa521", "ecdsa521", ["-h"]),
      ("cert-rsa3072-by-ecdsa256", "ca-ecdsa256", "rsa3072", ["-V", "20200101:20300101"]),
      ("cert-ed25519-by-rsa", "ca-rsa", "ed25519", []),
    ]
    if dsa { certificates.append(("cert-dsa-by-ed25519", "ca-ed25519", "dsa", [])) }
    for (name, ca, subject, extra) in certificates {
      // ssh-keygen -s writes SUBJECT-cert.pub; sign a copy named after the certificate.
      try FileManager.default.copyItem(atPath: "\(dir)/\(subject).pub", toPath: "\(dir)/\(name).pub")
      var arguments = ["-q", "-s", "\(dir)/\(ca)", "-I", "id-\(name)"]
      if !extra.contains("-n") { arguments += ["-n", "alice"] }
      arguments += extra + ["\(dir)/\(name).pub"]
      let output = try SSHKeygen.run(arguments)
      guard output.status == 0 else {
        throw GenerationFailed(step: "ssh-keygen -s \(ca) \(subject)", stderr: output.stderr)
      }
      made.append(name)
    }
    var keys: [Key] = []
    for name in made {
      let file = name.hasPrefix("cert-") ? "\(dir)/\(name)-cert.pub" : "\(dir)/\(name).pub"
      let text = try String(contentsOfFile: file, encoding: .utf8)
      let fields = text.trimmingCharacters(in: .newlines).split(separator: " ", maxSplits: 2)
      guard fields.count >= 2 else { throw GenerationFailed(step: "read \(file)", stderr: text) }
      keys.append(
        Key(
          name: name, type: String(fields[0]), base64: String(fields[1]),
          comment: fields.count > 2 ? String(fields[2]) : "",
          privateKeyPath: name.hasPrefix("cert-") ? nil : "\(dir)/\(name)"))
    }
    self.keys = keys
    let prints = try SSHKeygen.fingerprints(of: keys.map(\.pair), in: directory.url)
    var expected: [String: SSHKeygen.Fingerprint] = [:]
    for (key, print) in zip(keys, prints) {
      guard let print else { throw GenerationFailed(step: "ssh-keygen -l \(key.name)", stderr: "refused") }
      expected[key.name] = print
    }
    self.expected = expected
  }

  struct GenerationFailed: Error, CustomStringConvertible {
    var step: String
    var stderr: String
    var description: String { "\(step) failed: \(stderr)" }
  }
}

import Foundation
import KeywardTestSupport
import Testing

/// `keyward report` holds the keys it finds to the manifests' own `policy:` (and to the
/// default policy without one), end to end through the binary on a `--root` tree.
@Suite("report and the manifests' key policy", .tags(.processes))
struct ReportPolicyTests {
  /// A fresh public key line of the given ssh-keygen type and size.
  static func key(_ type: String, bits: Int) throws -> String {
    let dir = try Fleet.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try Fleet.run(
      "/usr/bin/ssh-keygen", ["-q", "-t", type, "-b", "\(bits)", "-N", "", "-C", type, "-f", dir + "/k"])
    guard result.status == 0 else { throw FleetError(message: result.output) }
    return try String(contentsOfFile: dir + "/k.pub", encoding: .utf8).trimmingCharacters(in: .newlines)
  }

  /// The key-policy finding codes of a report of alice@img, whose file holds `keys` (which the
  /// manifest, declaring another key, does not manage), for a manifest with `policy` text.
  func codes(policy: String, keys: [String]) throws -> [String] {
    let root = try TemporaryRoot()
    try root.put("alice", ([TestKeys.alice] + keys).joined(separator: "\n") + "\n")
    let manifest = root.path + "/keys.yaml"
    try """
    version: 1
    \(policy)
    keys:
      ann: "\(TestKeys.alice)"
    hosts:
      img: {}
    access:
      - hosts: [img]
        users: [alice]
        keys: [ann]
        mode: additive

    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    let result = try KeywardProcess.run(
      ["report", manifest, "--local", "--root", root.path, "--host", "img", "--format", "json", "--no-log"])
    let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let findings = json?["findings"] as? [[String: Any]] ?? []
    return findings.compactMap { $0["code"] as? String }.filter {
      $0.contains("key-type") || $0 == "weak-key"
    }
    .sorted()
  }

  @Test func findingsFollowThePolicyOfTheManifests() throws {
    let keys = [try Self.key("rsa", bits: 2048), try Self.key("ecdsa", bits: 256)]
    // The default policy: RSA 2048 is enough and ECDSA is allowed.
    #expect(try codes(policy: "", keys: keys) == [])
    // The manifests' policy: RSA needs 3072 bits, ECDSA is not allowed.
    let strict = "policy:\n  allowed_types: [ssh-ed25519, ssh-rsa]\n  min_rsa_bits: 3072"
    #expect(try codes(policy: strict, keys: keys) == ["disallowed-key-type", "weak-key"])
  }
}

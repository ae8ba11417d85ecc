import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Testing

/// Keys made by the real ssh-keygen must read exactly as ssh-keygen reads them: same
/// fingerprint, bits and type, and crafted variants must be accepted or refused as
/// `sshkey_read()` (which ssh-keygen -l and sshd share) accepts or refuses them.
@Suite(.tags(.processes), .enabled(if: SSHKeygen.enabled, "ssh-keygen is not installed"))
struct SSHKeygenConformanceTests {
  static let keyNames = [
    "ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048", "rsa3072", "rsa4096", "dsa",
    "cert-ed25519-by-ed25519", "cert-rsa2048-by-ed25519", "cert-ecdsa256-by-ecdsa384",
    "cert-ed25519-by-ecdsa256", "cert-ecdsa521-by-ecdsa521", "cert-rsa3072-by-ecdsa256",
    "cert-ed25519-by-rsa", "cert-dsa-by-ed25519",
  ]

  @Test("generated keys match ssh-keygen -l -E sha256", arguments: keyNames)
  func generatedKey(name: String) throws {
    let fixtures = try KeyFixtures.get()
    if name.contains("dsa"), !name.contains("ecdsa"), !fixtures.hasDSA { return }
    let generated = try #require(fixtures.key(name))
    let expected = try #require(fixtures.expected[name])
    let key = try PublicKey(type: generated.type, base64: generated.base64)
    #expect(key.fingerprint == expected.fingerprint)
    #expect(key.bits == expected.bits)
    #expect(key.algorithm.displayName == expected.kind)
    #expect(key.type == generated.type)
    #expect(key.algorithm.name == generated.type)
    #expect(key.isCertificate == generated.isCertificate)
    // The whole .pub line reads as a valid authorized_keys line with its comment.
    let line = AuthorizedKeysLine(text: generated.pair + " " + generated.comment)
    #expect(line.kind == .key)
    #expect(line.entry?.comment == generated.comment)
    #expect(line.entry?.key == key)
  }

  @Test("MD5 fingerprints match ssh-keygen -l -E md5", arguments: ["ed25519", "ecdsa384", "rsa2048"])
  func md5(name: String) throws {
    let fixtures = try KeyFixtures.get()
    let generated = try #require(fixtures.key(name))
    let output = try SSHKeygen.run(["-l", "-E", "md5", "-f", fixtures.directory.url.path + "/\(name).pub"])
    let printed = try #require(output.stdout.split(separator: " ").dropFirst().first)
    #expect(try PublicKey(type: generated.type, base64: generated.base64).md5Fingerprint == String(printed))
  }

  @Test("a certificate has the fingerprint of its key and is not equal to it")
  func certificateIdentity() throws {
    let fixtures = try KeyFixtures.get()
    let certificate = try #require(fixtures.key("cert-rsa2048-by-ed25519"))
    let plain = try #require(fixtures.key("rsa2048"))
    let certKey = try PublicKey(type: certificate.type, base64: certificate.base64)
    let plainKey = try PublicKey(type: plain.type, base64: plain.base64)
    #expect(certKey.fingerprint == plainKey.fingerprint)
    #expect(certKey != plainKey)
    #expect(certKey.algorithm == .certificate(of: .rsa))
    let fields = try #require(certKey.certificate)
    #expect(fields.principals == ["alice", "bob"])
    #expect(fields.keyID == "id-cert-rsa2048-by-ed25519")
    #expect(fields.kind == .user)
    #expect(fields.signatureVerified)
    let ca = try #require(fixtures.key("ca-ed25519"))
    #expect(fields.caFingerprint == (try PublicKey(type: ca.type, base64: ca.base64)).fingerprint)
    #expect(fields.extensions.contains("permit-pty"))
  }

  @Test("certificate fields: host kind, critical options, validity")
  func certificateFields() throws {
    let fixtures = try KeyFixtures.get()
    let host = try PublicKey(parsing: try #require(fixtures.key("cert-ecdsa521-by-ecdsa521")).pair)
    #expect(host.certificate?.kind == .host)
    let forced = try PublicKey(parsing: try #require(fixtures.key("cert-ed25519-by-ecdsa256")).pair)
    #expect(forced.certificate?.criticalOptions == ["force-command"])
    let dated = try PublicKey(parsing: try #require(fixtures.key("cert-rsa3072-by-ecdsa256")).pair)
    let after = try #require(dated.certificate?.validAfter)
    let before = try #require(dated.certificate?.validBefore)
    #expect(before > after && after > 1_500_000_000)
    let rsaSigned = try PublicKey(parsing: try #require(fixtures.key("cert-ed25519-by-rsa")).pair)
    #expect(rsaSigned.certificate?.signatureVerified == false)
    #expect(rsaSigned.certificate?.caAlgorithm == .rsa)
  }

  /// A named way to derive a `type base64` pair from a generated key.
  struct Mutation: Sendable, CustomStringConvertible {
    var description: String
    var keys: [String]
    var make: @Sendable (KeyFixtures.Key) -> String
  }

  static let plainKeys = ["ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048", "dsa"]
  static let certKeys = [
    "cert-ed25519-by-ed25519", "cert-ecdsa256-by-ecdsa384", "cert-ed25519-by-ecdsa256",
    "cert-ecdsa521-by-ecdsa521", "cert-rsa3072-by-ecdsa256",
  ]

  static func rebuild(_ key: KeyFixtures.Key, type: String? = nil, _ change: ([[UInt8]]) -> [[UInt8]])
    -> String
  {
    (type ?? key.type) + " " + Wire.encode(Wire.join(change(Wire.fields(Wire.decode(key.base64)))))
  }

  static func rebase(_ key: KeyFixtures.Key, _ change: (String) -> String) -> String {
    key.type + " " + change(key.base64)
  }

  static let mutations: [Mutation] = [
    Mutation(description: "as generated", keys: plainKeys + certKeys) { $0.pair },
    Mutation(description: "blob type in upper case short name", keys: plainKeys) { key in
      rebuild(key) { f in
        let short = ["ssh-ed25519": "ED25519", "ssh-rsa": "RSA", "ssh-dss": "DSA"][key.type] ?? "ECDSA"
        return [Array(short.utf8)] + f.dropFirst()
      }
    },
    Mutation(description: "blob type in lower case short name", keys: plainKeys) { key in
      rebuild(key) { f in
        [Array((["ssh-ed25519": "ed25519", "ssh-rsa": "rsa", "ssh-dss": "dsa"][key.type] ?? "ecdsa").utf8)]
          + f.dropFirst()
      }
    },
    Mutation(description: "blob type rsa-sha2-512", keys: ["rsa2048"]) { key in
      rebuild(key) { [Array("rsa-sha2-512".utf8)] + $0.dropFirst() }
    },
    Mutation(description: "token rsa-sha2-256", keys: ["rsa2048"]) { "rsa-sha2-256 " + $0.base64 },
    Mutation(description: "token rsa-sha2-512-cert on plain blob", keys: ["rsa2048"]) {
      "rsa-sha2-512-cert-v01@openssh.com " + $0.base64
    },
    Mutation(description: "token of another key type", keys: plainKeys) { key in
      (key.type == "ssh-ed25519" ? "ssh-rsa " : "ssh-ed25519 ") + key.base64
    },
    Mutation(description: "token of another curve", keys: ["ecdsa256", "ecdsa384", "ecdsa521"]) { key in
      (key.type == "ecdsa-sha2-nistp256" ? "ecdsa-sha2-nistp521 " : "ecdsa-sha2-nistp256 ") + key.base64
    },
    Mutation(description: "upper-case token", keys: plainKeys) { $0.type.uppercased() + " " + $0.base64 },
    Mutation(description: "certificate token on plain blob", keys: plainKeys) { key in
      key.type.replacingOccurrences(of: "@openssh.com", with: "") + "-cert-v01@openssh.com " + key.base64
    },
    Mutation(description: "plain token on certificate blob", keys: certKeys) { key in
      key.type.replacingOccurrences(of: "-cert-v01@openssh.com", with: "") + " " + key.base64
    },
    Mutation(description: "trailing zero byte", keys: plainKeys + certKeys) { key in
      key.type + " " + Wire.encode(Wire.decode(key.base64) + [0])
    },
    Mutation(description: "truncated by one byte", keys: plainKeys + certKeys) { key in
      key.type + " " + Wire.encode(Array(Wire.decode(key.base64).dropLast()))
    },
    Mutation(description: "extra leading zeros in every mpint", keys: ["rsa2048", "dsa"]) { key in
      rebuild(key) { f in [f[0]] + f.dropFirst().map { [0, 0, 0] + $0 } }
    },
    Mutation(description: "mpint sign byte removed", keys: ["rsa2048"]) { key in
      rebuild(key) { f in [f[0], f[1], Array(f[2].dropFirst())] }
    },
    Mutation(description: "modulus cut to 1016 bits", keys: ["rsa2048"]) { key in
      rebuild(key) { f in [f[0], f[1], Array(f[2].prefix(128))] }
    },
    Mutation(description: "modulus cut to 1024 bits", keys: ["rsa2048"]) { key in
      rebuild(key) { f in [f[0], f[1], Array(f[2].prefix(129))] }
    },
    Mutation(description: "empty exponent", keys: ["rsa2048"]) { key in
      rebuild(key) { f in [f[0], [], f[2]] }
    },
    Mutation(description: "negative exponent", keys: ["rsa2048"]) { key in
      rebuild(key) { f in [f[0], [0x81], f[2]] }
    },
    Mutation(description: "ecdsa point off the curve", keys: ["ecdsa256", "ecdsa384", "ecdsa521"]) { key in
      rebuild(key) { f in [f[0], f[1], Array(f[2].dropLast()) + [f[2].last! ^ 1]] }
    },
    Mutation(description: "ecdsa compressed point", keys: ["ecdsa256", "ecdsa384", "ecdsa521"]) { key in
      rebuild(key) { f in
        let half = (f[2].count - 1) / 2
        return [f[0], f[1], [2 + (f[2].last! & 1)] + Array(f[2][1...half])]
      }
    },
    Mutation(description: "ecdsa curve name of another curve", keys: ["ecdsa256", "ecdsa384"]) { key in
      rebuild(key) { f in [f[0], Array((key.type.hasSuffix("256") ? "nistp384" : "nistp256").utf8), f[2]] }
    },
    Mutation(description: "name with a trailing NUL", keys: plainKeys) { key in
      rebuild(key) { f in [f[0] + [0]] + f.dropFirst() }
    },
    Mutation(description: "name with an inner NUL", keys: plainKeys) { key in
      rebuild(key) { f in [Array(f[0].prefix(3)) + [0] + Array(f[0].dropFirst(3))] + f.dropFirst() }
    },
    Mutation(description: "ed25519 key of 31 bytes", keys: ["ed25519"]) { key in
      rebuild(key) { f in [f[0], Array(f[1].dropLast())] }
    },
    Mutation(description: "ed25519 key of 32 zero bytes", keys: ["ed25519"]) { key in
      rebuild(key) { f in [f[0], [UInt8](repeating: 0, count: 32)] }
    },
    Mutation(description: "base64 without padding", keys: plainKeys + certKeys) { key in
      rebase(key) { $0.replacingOccurrences(of: "=", with: "") }
    },
    Mutation(description: "base64 with one '=' too many", keys: plainKeys + certKeys) { key in
      rebase(key) { $0 + "=" }
    },
    Mutation(description: "base64 with the last data character's unused bits set", keys: plainKeys + certKeys)
    {
      key in
      rebase(key) { text in
        guard let firstPad = text.firstIndex(of: "=") else { return text }
        var chars = Array(text)
        let position = text.distance(from: text.startIndex, to: firstPad) - 1
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let value = alphabet.firstIndex(of: chars[position])!
        chars[position] = alphabet[value | 1]
        return String(chars)
      }
    },
    Mutation(description: "base64 with CR, VT and FF inside", keys: plainKeys) { key in
      rebase(key) { text in
        let index = text.index(text.startIndex, offsetBy: 12)
        return String(text[..<index]) + "\r\u{0B}\u{0C}" + String(text[index...]) + "\r"
      }
    },
    Mutation(description: "base64url alphabet", keys: plainKeys + certKeys) { key in
      rebase(key) { $0.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
    },
    Mutation(description: "base64 with a missing character", keys: plainKeys) { key in
      rebase(key) { String($0.dropFirst()) }
    },
    Mutation(description: "as a FIDO sk-ssh-ed25519 key", keys: ["ed25519"]) { key in
      let f = Wire.fields(Wire.decode(key.base64))
      return "sk-ssh-ed25519@openssh.com "
        + Wire.encode(Wire.join([Array("sk-ssh-ed25519@openssh.com".utf8), f[1], Array("ssh:".utf8)]))
    },
    Mutation(description: "as a FIDO sk-ecdsa key", keys: ["ecdsa256"]) { key in
      let f = Wire.fields(Wire.decode(key.base64))
      return "sk-ecdsa-sha2-nistp256@openssh.com "
        + Wire.encode(
          Wire.join([Array("sk-ecdsa-sha2-nistp256@openssh.com".utf8), f[1], f[2], Array("ssh:".utf8)]))
    },
    Mutation(description: "as a FIDO key with a webauthn type token", keys: ["ecdsa256"]) { key in
      let f = Wire.fields(Wire.decode(key.base64))
      return "webauthn-sk-ecdsa-sha2-nistp256@openssh.com "
        + Wire.encode(
          Wire.join([Array("sk-ecdsa-sha2-nistp256@openssh.com".utf8), f[1], f[2], Array("ssh:".utf8)]))
    },
    Mutation(description: "as a FIDO key with a webauthn name in the blob", keys: ["ecdsa256"]) { key in
      let f = Wire.fields(Wire.decode(key.base64))
      let name = Array("webauthn-sk-ecdsa-sha2-nistp256@openssh.com".utf8)
      return "sk-ecdsa-sha2-nistp256@openssh.com "
        + Wire.encode(Wire.join([name, f[1], f[2], Array("ssh:".utf8)]))
    },
    Mutation(description: "as a FIDO key without its application", keys: ["ed25519"]) { key in
      let f = Wire.fields(Wire.decode(key.base64))
      return "sk-ssh-ed25519@openssh.com "
        + Wire.encode(Wire.join([Array("sk-ssh-ed25519@openssh.com".utf8), f[1]]))
    },
    Mutation(description: "as a FIDO key with a short name in the blob", keys: ["ed25519"]) { key in
      let f = Wire.fields(Wire.decode(key.base64))
      return "sk-ssh-ed25519@openssh.com "
        + Wire.encode(Wire.join([Array("ED25519-SK".utf8), f[1], Array("ssh:".utf8)]))
    },
    Mutation(description: "certificate with one signature byte flipped", keys: certKeys) { key in
      var blob = Wire.decode(key.base64)
      blob[blob.count - 5] ^= 0x01
      return key.type + " " + Wire.encode(blob)
    },
    Mutation(description: "certificate with one key-id byte flipped", keys: certKeys) { key in
      var blob = Wire.decode(key.base64)
      // The key id follows serial and type after the key; find "id-" and change it.
      let marker = Array("id-cert".utf8)
      if let start = (0..<(blob.count - marker.count)).first(where: {
        Array(blob[$0..<($0 + marker.count)]) == marker
      }) {
        blob[start] ^= 0x20
      }
      return key.type + " " + Wire.encode(blob)
    },
  ]

  static var mutationCases: [(Mutation, String)] {
    mutations.flatMap { mutation in mutation.keys.map { (mutation, $0) } }
  }

  @Test("crafted keys are accepted and fingerprinted exactly as ssh-keygen does", arguments: mutationCases)
  func mutation(_ mutation: Mutation, keyName: String) throws {
    let fixtures = try KeyFixtures.get()
    guard let generated = fixtures.key(keyName) else {
      #expect(keyName == "dsa" && !fixtures.hasDSA)
      return
    }
    let pair = mutation.make(generated)
    let oracle = try SSHKeygen.fingerprints(of: [pair], in: fixtures.directory.url)[0]
    let line = AuthorizedKeysLine(text: pair)
    if let oracle {
      #expect(
        line.kind == .key, "ssh-keygen accepts '\(pair)' (\(oracle)) but keyward says: \(line.error ?? "")")
      #expect(line.entry?.key.fingerprint == oracle.fingerprint)
      #expect(line.entry?.key.bits == oracle.bits)
      #expect(line.entry?.key.algorithm.displayName == oracle.kind)
    } else if mutation.description.hasPrefix("certificate with"), generated.name.hasSuffix("-by-rsa") {
      // RSA CA signatures cannot be verified with swift-crypto (documented on Certificate).
      #expect(line.entry?.key.certificate?.signatureVerified != true)
    } else {
      #expect(line.kind == .invalid, "ssh-keygen refuses '\(pair)' but keyward accepts it")
    }
  }
}

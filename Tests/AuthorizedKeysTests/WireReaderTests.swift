import Foundation
import KeywardTestSupport
import Testing

@testable import AuthorizedKeys

/// The one SSH wire reader (RFC 4251 fields), and what is read with it from key files.
@Suite("Wire reader and private key file headers")
struct WireReaderTests {
  @Test func stopsAtTruncatedFields() throws {
    var writer = WireWriter()
    writer.bytes.append(101)
    writer.writeUInt32(7)
    writer.writeString(Array("ok".utf8))
    writer.bytes += [0, 0, 0, 9, 1]
    var reader = WireReader(writer.bytes)
    #expect(try reader.readUInt8("byte") == 101)
    #expect(try reader.readUInt32("count") == 7)
    #expect(try writer.bytes[reader.readString("word")] == Array("ok".utf8)[...])
    #expect(throws: KeyError.truncatedBlob(field: "rest")) { try reader.readString("rest") }
  }

  @Test func theTypeOfABlobIsItsFirstField() throws {
    let key = try PublicKey(parsing: TestKeys.alice)
    #expect(PublicKey.typeName(ofBlob: key.blob) == key.type)
    #expect(PublicKey.typeName(ofBlob: Array(key.blob.prefix(6))) == nil)
    #expect(PublicKey.typeName(ofBlob: []) == nil)
  }

  /// Differential: the public key ssh-keygen writes beside each private key file, encrypted or not.
  @Test(arguments: [("ed25519", ""), ("ecdsa", "pass phrase"), ("rsa", "pass phrase"), ("ed25519", "x")])
  func readsThePublicKeyFromTheHeaderAsSSHKeygenWroteIt(type: String, passphrase: String) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyward-wire-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/key"
    let keygen = Process()
    keygen.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
    keygen.arguments = ["-q", "-t", type, "-N", passphrase, "-C", "", "-f", path]
    try keygen.run()
    keygen.waitUntilExit()
    try #require(keygen.terminationStatus == 0)
    let publicKey = try PublicKey(parsing: String(contentsOfFile: path + ".pub", encoding: .utf8))
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(OpenSSHPrivateKeyFile.publicBlob(in: text) == publicKey.blob)
    // Cut inside the header (after the cipher name), or not that format at all: nothing.
    let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    let header = try #require(Data(base64Encoded: body)).prefix(15 + 4 + 4)
    let cut =
      "-----BEGIN OPENSSH PRIVATE KEY-----\n\(header.base64EncodedString())\n-----END OPENSSH PRIVATE KEY-----\n"
    #expect(OpenSSHPrivateKeyFile.publicBlob(in: cut) == nil)
    let publicText = try String(contentsOfFile: path + ".pub", encoding: .utf8)
    #expect(OpenSSHPrivateKeyFile.publicBlob(in: publicText) == nil)
  }
}

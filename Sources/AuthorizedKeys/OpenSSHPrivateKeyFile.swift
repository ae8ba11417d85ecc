/// What an OpenSSH-format private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`) says in
/// clear: its `openssh-key-v1` header lists the public keys before the private part, which may
/// be encrypted (OpenSSH's PROTOCOL.key). Nothing here decrypts or reads the private part.
public enum OpenSSHPrivateKeyFile {
  static let magic: [UInt8] = Array("openssh-key-v1".utf8) + [0]

  /// The blob of the first public key the file lists, or nil when `text` is not an
  /// OpenSSH-format private key file (or its header is cut short).
  public static func publicBlob(in text: String) -> [UInt8]? {
    guard text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") else { return nil }
    let body = Array(text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined().utf8)
    let decoded = body.withUnsafeBufferPointer { (text) -> [UInt8]? in try? Base64.decodeStrict(text) }
    guard let bytes = decoded, bytes.starts(with: magic) else { return nil }
    var reader = WireReader(bytes, range: magic.count..<bytes.count)
    do {
      _ = try reader.readString("ciphername")
      _ = try reader.readString("kdfname")
      _ = try reader.readString("kdfoptions")
      guard try reader.readUInt32("number of keys") >= 1 else { return nil }
      return Array(bytes[try reader.readString("public key")])
    } catch {
      return nil
    }
  }
}

extension PublicKey {
  /// The key type a public key blob names in its first field (`ssh-ed25519`), read without
  /// checking the rest of the blob; nil when the field is cut short.
  public static func typeName(ofBlob blob: [UInt8]) -> String? {
    var reader = WireReader(blob)
    guard let range = try? reader.readString("key type") else { return nil }
    return String(decoding: blob[range], as: UTF8.self)
  }
}

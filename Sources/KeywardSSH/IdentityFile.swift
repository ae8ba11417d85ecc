/// An identity to offer: a private key file and, when known, its public key blob.
struct IdentityFile: Sendable {
  var path: String
  var publicBlob: [UInt8]?
  var keyType: String?
  /// False when only `path.pub` exists (the key is expected in the agent).
  var hasPrivateKey = true
}

/// Why a public key could not be read.
public enum KeyError: Error, Hashable, Sendable {
  case invalidBase64
  case missingBlob
}

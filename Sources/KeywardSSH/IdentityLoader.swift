import AuthorizedKeys
import Foundation

/// Finds the public half of identity files: from `FILE.pub`, or from the unencrypted header of an
/// OpenSSH-format private key (which stores the public key in clear even when encrypted).
enum IdentityLoader {
  /// The identity files that exist, with their public blobs when they can be found.
  static func load(_ paths: [String]) -> [IdentityFile] {
    var seen = Set<String>()
    return paths.compactMap { path in
      guard seen.insert(path).inserted else { return nil }
      let hasPrivate = FileManager.default.isReadableFile(atPath: path)
      // Like OpenSSH, a public key alone selects the agent key to use.
      guard hasPrivate || FileManager.default.isReadableFile(atPath: path + ".pub") else { return nil }
      let blob = publicBlob(forPrivateKey: path)
      return IdentityFile(
        path: path, publicBlob: blob, keyType: blob.flatMap(keyType(of:)), hasPrivateKey: hasPrivate)
    }
  }

  static func publicBlob(forPrivateKey path: String) -> [UInt8]? {
    if let text = try? String(contentsOfFile: path + ".pub", encoding: .utf8),
      let key = try? PublicKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
    {
      return key.blob
    }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return OpenSSHPrivateKeyFile.publicBlob(in: text)
  }

  /// Why a private key file must not be used, as OpenSSH's `sshkey_perm_ok` decides: a file
  /// owned by the caller that group or others may read or write is ignored ("UNPROTECTED
  /// PRIVATE KEY FILE!"). `nil` when the file may be used.
  static func unprotected(_ path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0, info.st_uid == getuid(), info.st_mode & 0o077 != 0 else { return nil }
    let mode = String(info.st_mode & 0o777, radix: 8)
    return "'\(path)' is accessible by others (mode 0\(mode)); OpenSSH ignores such a private key, and so"
      + " does keyward: run 'chmod 600 \(path)'"
  }

  /// The key type named at the start of a public key blob.
  static func keyType(of blob: [UInt8]) -> String? {
    PublicKey.typeName(ofBlob: blob)
  }

  /// The `SHA256:...` fingerprint of a blob, as ssh-keygen prints it.
  static func fingerprint(of blob: [UInt8]) -> String? {
    let type = keyType(of: blob) ?? "unknown"
    return (try? PublicKey(type: type, base64: Data(blob).base64EncodedString()))?.fingerprint
  }
}

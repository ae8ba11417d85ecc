import AuthorizedKeys
import Foundation
import KeywardCore

/// Real public keys (made with ssh-keygen) used as test data.
public enum TestKeys {
  public static let alice =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHQhxcEnrhJVcAC2WBo6A1Sd/3EIKL7GuPX1cv61AIh alice@test"
  public static let bob =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILVlesqCPw0X06mgnIxGahcjcGF7Sob4c6Z6LQGXVGT7 bob@test"
  public static let carol =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3lZm6AapoKQvhIQjy5Gk3O5is2JuRlRKJGvKB3Kmqx carol@test"
  public static let dave =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP5R8pLpvPUnsQXBIDFMKmwzTJx44Rw4kyfBRBeW+AhX dave@test"
  public static let ci =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJVvYgqC9WvRRtUsLEVg12Q9K014yIAiPrNulEbcZpaFOMML9z/0Q1Vlqn5mS9Arfd9lu4jn5/eAWIpgDn16Ez0= ci@runner"

  public static func key(_ line: String) -> PublicKey {
    do {
      return try PublicKey(parsing: line)
    } catch {
      preconditionFailure("test key '\(line)' does not parse: \(error)")
    }
  }

  public static func entry(
    _ name: String, _ line: String, options: [KeyOption] = [], comment: String? = nil,
    expires: Date? = nil, protected: Bool = false
  ) -> DesiredEntry {
    DesiredEntry(
      keyName: name, key: key(line), options: options,
      comment: comment ?? String(line.split(separator: " ")[2]),
      expires: expires, isProtected: protected, rule: "access[0]")
  }
}

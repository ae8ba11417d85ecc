import ArgumentParser
import Foundation
import KeywardCore

/// Reads saved plans: the bytes are read once, their signature checked (when asked), and the
/// same bytes decoded and checked whole (`PlanFile.decode`).
enum PlanInput {
  /// True when the file at `path` looks like a saved plan (JSON with a format version) rather than a manifest.
  static func isPlanFile(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
      let handle = FileHandle(forReadingAtPath: path)
    else { return false }
    defer { try? handle.close() }
    let head = (try? handle.read(upToCount: 4096)) ?? Data()
    return PlanFile.looksLikePlan(Array(head))
  }

  static func load(_ path: String, signature: SignatureOptions) throws -> Plan {
    let bytes: [UInt8]
    do {
      bytes = try FileIO.read(path)
    } catch {
      Terminal.report(.error, "cannot read plan file '\(path)': \(error.localizedDescription)")
      throw ExitCode(2)
    }
    if let allowed = signature.allowedSigners, let identity = signature.signerIdentity {
      do {
        let said = try PlanSignature.verify(
          bytes, signature: signature.signature ?? PlanSignature.defaultPath(for: path),
          allowedSigners: allowed,
          identity: identity)
        Terminal.error(said)
      } catch {
        Terminal.report(.error, "\(path): \(error); nothing was applied")
        throw ExitCode(1)
      }
    }
    do {
      return try PlanFile.decode(bytes)
    } catch {
      Terminal.report(.error, "\(path): \(error)")
      throw ExitCode(1)
    }
  }
}

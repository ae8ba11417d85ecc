import ArgumentParser
import Foundation
import KeywardCore

/// Reads saved plans.
enum PlanInput {
  /// True when the file at `path` looks like a saved plan (JSON with a format version) rather than a manifest.
  static func isPlanFile(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
      let handle = FileHandle(forReadingAtPath: path)
    else { return false }
    defer { try? handle.close() }
    let head = (try? handle.read(upToCount: 4096)) ?? Data()
    let text = String(decoding: head, as: UTF8.self)
    return text.drop { $0.isWhitespace }.hasPrefix("{") && text.contains("\"format_version\"")
  }

  static func load(_ path: String) throws -> Plan {
    let bytes: [UInt8]
    do {
      bytes = try FileIO.read(path)
    } catch {
      Terminal.error("error: cannot read plan file '\(path)': \(error.localizedDescription)")
      throw ExitCode(2)
    }
    do {
      return try PlanDocument.decode(bytes).plan()
    } catch {
      Terminal.error("error: \(path): \(error)")
      throw ExitCode(1)
    }
  }
}

import ArgumentParser
import AuthorizedKeys
import Foundation

/// `keyward inspect [FILE|-] [--format text|json]`: how sshd reads each line of an
/// authorized_keys file. The classification is ``InspectRecord`` from AuthorizedKeys; this
/// command only reads the input and formats the records.
public struct InspectCommand: ParsableCommand {
  /// Output formats.
  public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text
    case json
  }

  public static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show how sshd reads each line of an authorized_keys file.",
    discussion: """
      Prints one record per line: line number, kind (key, comment, blank, invalid), key type, \
      bits, SHA256 fingerprint, options, comment and, for invalid lines, the reason. \
      Exit status: 0 if every line is valid, 1 if any line is invalid, 2 for usage errors or \
      unreadable input.
      """
  )

  /// The exit status for usage errors and unreadable input.
  public static let usageExitCode: Int32 = 2

  @Argument(help: "The authorized_keys file to read, or '-' for standard input.")
  public var file: String = "-"

  @Option(help: "Output format: text or json.")
  public var format: Format = .text

  public init() {}

  public func run() throws {
    let bytes: [UInt8]
    do {
      bytes = try Self.readInput(file)
    } catch {
      FileHandle.standardError.write(Data("keyward: error: \(error)\n".utf8))
      throw ExitCode(Self.usageExitCode)
    }
    let (output, status) = Self.report(bytes, format: format)
    Self.writeStandardOutput(output)
    if status != 0 { throw ExitCode(status) }
  }

  /// The formatted report of an authorized_keys file and the exit status: 0 when every
  /// line is valid, 1 when any line is invalid.
  public static func report(_ bytes: [UInt8], format: Format) -> (output: [UInt8], status: Int32) {
    switch format {
    case .json:
      var writer = InspectFormatter.JSONWriter()
      InspectRecord.forEach(in: bytes) { writer.append($0) }
      return (writer.finish(), writer.sawInvalid ? 1 : 0)
    case .text:
      let records = InspectRecord.records(in: bytes)
      return (InspectFormatter.text(records), records.contains { $0.kind == .invalid } ? 1 : 0)
    }
  }

  /// Why the input could not be read.
  public struct InputError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot read '\(path)': \(reason)" }
  }

  /// The bytes of `path`, or of standard input for `-`.
  public static func readInput(_ path: String) throws(InputError) -> [UInt8] {
    if path == "-" {
      return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InputError(path: path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw InputError(path: path, reason: "is a directory") }
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw InputError(path: path, reason: "permission denied")
    }
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw InputError(path: path, reason: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count == 0 { return bytes }
      if count < 0 {
        if errno == EINTR { continue }
        throw InputError(path: path, reason: String(cString: strerror(errno)))
      }
      bytes.append(contentsOf: chunk[0..<count])
    }
  }

  /// Writes all of `bytes` to standard output.
  static func writeStandardOutput(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          return
        }
        offset += written
      }
    }
  }
}

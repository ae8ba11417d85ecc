import ArgumentParser
import AuthorizedKeys
import Foundation
import KeywardCore

/// `keyward inspect [FILE|-] [--format text|json]`: how sshd reads each line of an
/// authorized_keys file. ``AuthorizedKeysInspector`` (KeywardCore) reads and renders the
/// records; this command reads the input, writes the output and picks the exit status.
public struct InspectCommand: ParsableCommand {
  /// Output formats.
  public typealias Format = AuthorizedKeysInspector.Format

  public static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show how sshd reads each line of an authorized_keys file.",
    usage: "keyward inspect [<file>] [--format <format>]",
    discussion: """
      Prints one record per line: line number, kind (key, comment, blank, invalid), key type, \
      bits, SHA256 fingerprint, options, comment and, for invalid lines, the reason. \
      Exit status: 0 if every line is valid, 1 if any line is invalid, 2 for usage errors or \
      unreadable input.
      """
  )

  /// The exit status for usage errors and unreadable input.
  public static let usageExitCode: Int32 = 2

  /// The authorized_keys file to read, or '-' for standard input.
  public var file: String { operands.files.first ?? "-" }

  @Option(
    name: .customLong("format"), help: ArgumentHelp("Output format: text or json.", valueName: "format"))
  var formatName = Format.text.rawValue

  /// The file, and whatever else is on the command line: taken rather than refused by the
  /// parser, so that this command reports a usage error with its documented status (2; the
  /// parser's is 64).
  @Argument(
    parsing: .allUnrecognized,
    help: ArgumentHelp(
      "The authorized_keys file to read, or '-' for standard input. (default: -)", valueName: "file"))
  var arguments: [String] = []

  /// The operands taken: files (after `--`, anything is a file), and the first word that is
  /// an option this command does not know.
  var operands: (files: [String], unexpected: String?) {
    let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
    let before = arguments[..<end]
    let files = before.filter { !$0.hasPrefix("-") || $0 == "-" } + arguments[end...].dropFirst()
    return (files, before.first { $0.hasPrefix("-") && $0 != "-" })
  }

  /// The output format chosen.
  public var format: Format { Format(rawValue: formatName) ?? .text }

  public init() {}

  public func validate() throws {
    if let first = operands.unexpected ?? operands.files.dropFirst().first {
      throw Self.usageError("Unexpected argument '\(first)'")
    }
    if Format(rawValue: formatName) == nil {
      let names = Format.allCases.map { "'\($0.rawValue)'" }.joined(separator: " and ")
      throw Self.usageError(
        "The value '\(formatName)' is invalid for '--format <format>'. Please provide one of \(names).")
    }
  }

  /// Prints a usage error as the argument parser would, and the exit status to end with.
  static func usageError(_ message: String) -> ExitCode {
    Terminal.error(
      "Error: \(message)\nUsage: \(KeywardCommand.usageString(for: Self.self))\n"
        + "  See 'keyward \(configuration.commandName ?? "inspect") --help' for more information.")
    return ExitCode(usageExitCode)
  }

  public func run() throws {
    let bytes: [UInt8]
    do {
      bytes = try Self.readInput(file)
    } catch {
      Terminal.report(.error, "\(error)")
      throw ExitCode(Self.usageExitCode)
    }
    let report = AuthorizedKeysInspector.report(bytes, format: format)
    for piece in report.pieces { Self.writeStandardOutput(piece) }
    if report.hasInvalidLines { throw ExitCode(1) }
  }

  /// The formatted report of an authorized_keys file and the exit status: 0 when every
  /// line is valid, 1 when any line is invalid.
  public static func report(_ bytes: [UInt8], format: Format) -> (output: [UInt8], status: Int32) {
    let report = AuthorizedKeysInspector.report(bytes, format: format)
    return (report.bytes, report.hasInvalidLines ? 1 : 0)
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
    var status = stat()
    if fstat(descriptor, &status) == 0, status.st_size > 0 { bytes.reserveCapacity(Int(status.st_size) + 1) }
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

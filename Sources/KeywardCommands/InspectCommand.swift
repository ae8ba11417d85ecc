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
      Exit status: 0 if every line is valid, 1 if any line is invalid, 2 if the input cannot be read.
      """
  )

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
      throw ExitCode(2)
    }
    let records = InspectRecord.records(for: AuthorizedKeysFile(bytes: bytes))
    let output: [UInt8]
    switch format {
    case .json: output = InspectFormatter.json(records)
    case .text: output = InspectFormatter.text(records)
    }
    FileHandle.standardOutput.write(Data(output))
    if records.contains(where: { $0.kind == .invalid }) {
      throw ExitCode(1)
    }
  }

  /// Why the input could not be read.
  public struct InputError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot read '\(path)': \(reason)" }
  }

  /// The bytes of `path`, or of standard input for `-`.
  static func readInput(_ path: String) throws(InputError) -> [UInt8] {
    if path == "-" {
      return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InputError(path: path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw InputError(path: path, reason: "is a directory") }
    do {
      return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw InputError(path: path, reason: (error as NSError).localizedDescription)
    }
  }
}

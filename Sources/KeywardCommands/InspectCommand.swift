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
    let (pieces, status) = Self.reportPieces(bytes, format: format)
    for piece in pieces { Self.writeStandardOutput(piece) }
    if status != 0 { throw ExitCode(status) }
  }

  /// The formatted report of an authorized_keys file and the exit status: 0 when every
  /// line is valid, 1 when any line is invalid. Large files are read on all cores, in
  /// pieces of whole lines; the output is the same as reading them in one piece.
  public static func report(_ bytes: [UInt8], format: Format) -> (output: [UInt8], status: Int32) {
    let (pieces, status) = reportPieces(bytes, format: format)
    return (pieces.count == 1 ? pieces[0] : Array(pieces.joined()), status)
  }

  /// ``report(_:format:)`` as consecutive pieces of output, to write without joining them.
  static func reportPieces(_ bytes: [UInt8], format: Format) -> (output: [[UInt8]], status: Int32) {
    bytes.withUnsafeBufferPointer { buffer in
      let pieces = bytes.count < 1 << 20 ? 1 : ProcessInfo.processInfo.activeProcessorCount
      let chunks = AuthorizedKeysFile.lineChunks(buffer, count: pieces)
      switch format {
      case .json:
        let parts = parallelMap(chunks) { chunk -> InspectFormatter.JSONWriter in
          var writer = InspectFormatter.JSONWriter(capacity: chunk.range.count + chunk.range.count / 2)
          InspectRecord.forEach(
            in: UnsafeBufferPointer(rebasing: buffer[chunk.range]), firstLineNumber: chunk.firstLineNumber
          ) {
            writer.append($0)
          }
          return writer
        }
        return (InspectFormatter.JSONWriter.pieces(parts), parts.contains { $0.sawInvalid } ? 1 : 0)
      case .text:
        let groups = parallelMap(chunks) { chunk -> [InspectRecord] in
          var records: [InspectRecord] = []
          InspectRecord.forEach(
            in: UnsafeBufferPointer(rebasing: buffer[chunk.range]), firstLineNumber: chunk.firstLineNumber
          ) {
            records.append($0)
          }
          return records
        }
        // Widths need every record; the rows of each group are then formatted in parallel.
        let widths = parallelMap(groups) { InspectFormatter.textWidths([$0]) }
          .reduce(InspectFormatter.textWidths([])) { zip($0, $1).map(max) }
        let rows = parallelMap(groups) { InspectFormatter.textRows($0, widths: widths) }
        let invalid = groups.contains { $0.contains { $0.kind == .invalid } }
        return ([InspectFormatter.textHeader(widths)] + rows, invalid ? 1 : 0)
      }
    }
  }

  /// `transform` of each element, computed concurrently (one thread per element), in order.
  ///
  /// Plain threads rather than `DispatchQueue.concurrentPerform`: called from the command's
  /// task, concurrentPerform ran the pieces one after another.
  static func parallelMap<Element, Result>(
    _ elements: [Element], _ transform: @escaping (Element) -> Result
  ) -> [Result] {
    guard elements.count > 1 else { return elements.map(transform) }
    let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: elements.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    elements.withUnsafeBufferPointer { input in
      // Each thread reads its own input element and writes its own result slot; the
      // semaphore orders those writes before the reads below. A finished Thread object may
      // keep its closure a little longer, so `transform` is escaping.
      let shared = UncheckedSendable(value: (input, results, transform))
      let done = DispatchSemaphore(value: 0)
      for index in 1..<input.count {
        let thread = Thread {
          let (input, results, transform) = shared.value
          results[index] = transform(input[index])
          done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
      }
      results[0] = transform(input[0])
      for _ in 1..<input.count { done.wait() }
    }
    return results.map { $0! }
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

/// Hands values that are only accessed in disjoint ways to concurrent iterations.
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
}

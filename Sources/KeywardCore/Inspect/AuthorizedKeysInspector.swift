import AuthorizedKeys
import Foundation

/// How sshd reads each line of an authorized_keys file, rendered for `keyward inspect`: the
/// records of ``InspectRecord`` as a JSON array or a text table. Large inputs are read on all
/// cores, in pieces of whole lines; the output is the same as reading them in one piece.
public enum AuthorizedKeysInspector {
  /// Output formats.
  public enum Format: String, CaseIterable, Sendable {
    case text
    case json
  }

  /// The rendered records, as consecutive pieces to write without joining them.
  public struct Report: Sendable {
    public var pieces: [[UInt8]]
    /// Whether any line is invalid.
    public var hasInvalidLines: Bool

    /// The whole output in one array.
    public var bytes: [UInt8] { pieces.count == 1 ? pieces[0] : Array(pieces.joined()) }
  }

  /// Reads `bytes` as an authorized_keys file and renders its records in `format`.
  public static func report(_ bytes: [UInt8], format: Format) -> Report {
    bytes.withUnsafeBufferPointer { buffer in
      let pieces = bytes.count < 1 << 20 ? 1 : ProcessInfo.processInfo.activeProcessorCount
      let chunks = AuthorizedKeysFile.lineChunks(buffer, count: pieces)
      switch format {
      case .json:
        let parts = parallelMap(chunks) { chunk -> InspectRenderer.JSONWriter in
          var writer = InspectRenderer.JSONWriter(capacity: chunk.range.count + chunk.range.count / 2)
          InspectRecord.forEach(
            in: UnsafeBufferPointer(rebasing: buffer[chunk.range]), firstLineNumber: chunk.firstLineNumber
          ) {
            writer.append($0)
          }
          return writer
        }
        return Report(
          pieces: InspectRenderer.JSONWriter.pieces(parts), hasInvalidLines: parts.contains { $0.sawInvalid })
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
        // Widths need every record; the rows of each group are then rendered in parallel.
        let widths = parallelMap(groups) { InspectRenderer.textWidths([$0]) }
          .reduce(InspectRenderer.textWidths([])) { zip($0, $1).map(max) }
        let rows = parallelMap(groups) { InspectRenderer.textRows($0, widths: widths) }
        let invalid = groups.contains { $0.contains { $0.kind == .invalid } }
        return Report(pieces: [InspectRenderer.textHeader(widths)] + rows, hasInvalidLines: invalid)
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
}

/// Hands values that are only accessed in disjoint ways to concurrent iterations.
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
}

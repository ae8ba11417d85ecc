#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An authorized_keys file as a list of lines that renders back to the exact bytes it was
/// read from; lines added or changed through ``AuthorizedKeysLine/init(entry:)`` or
/// ``AuthorizedKeysLine/entry`` are written in canonical form.
public struct AuthorizedKeysFile: Hashable, Sendable {
  /// The lines, in file order.
  public var lines: [AuthorizedKeysLine]
  /// Whether the last line ends with `\n`. A file without lines has no final newline.
  public var hasFinalNewline: Bool

  /// Splits `bytes` on `\n` (the only terminator sshd knows) and classifies each line.
  public init(bytes: [UInt8]) {
    var lines: [AuthorizedKeysLine] = []
    lines.reserveCapacity(bytes.count / 128 + 1)
    Self.forEachLine(in: bytes) { _, slice in
      lines.append(AuthorizedKeysLine(parsing: slice, raw: Array(slice)))
    }
    self.lines = lines
    self.hasFinalNewline = bytes.last == 0x0A
  }

  /// Calls `body` with the 1-based number and the bytes (without `\n`) of each line of
  /// `bytes`. A final `\n` does not start another line.
  static func forEachLine(in bytes: [UInt8], _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      var start = 0
      var number = 0
      let count = buffer.count
      while start < count {
        let end: Int
        if let newline = memchr(base + start, 0x0A, count - start) {
          end = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
        } else {
          end = count
        }
        number += 1
        body(number, UnsafeBufferPointer(start: base + start, count: end - start))
        start = end + 1
      }
    }
  }

  /// Parses text (UTF-8).
  public init(text: some StringProtocol) {
    self.init(bytes: Array(text.utf8))
  }

  /// A file made of `lines`.
  public init(lines: [AuthorizedKeysLine], hasFinalNewline: Bool = true) {
    self.lines = lines
    self.hasFinalNewline = hasFinalNewline && !lines.isEmpty
  }

  /// The file's bytes: each line's ``AuthorizedKeysLine/raw`` joined by `\n`, plus a final
  /// `\n` when ``hasFinalNewline``. Rendering an unchanged parsed file gives its exact bytes.
  public func render() -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(lines.reduce(0) { $0 + $1.raw.count + 1 })
    for (index, line) in lines.enumerated() {
      if index > 0 { output.append(0x0A) }
      output.append(contentsOf: line.raw)
    }
    if hasFinalNewline && !lines.isEmpty { output.append(0x0A) }
    return output
  }

  /// The key entries of valid lines, in file order.
  public var entries: [KeyEntry] { lines.compactMap(\.entry) }

  /// Appends a key line in canonical form (a file that did not end in a newline gets one
  /// before the new line).
  public mutating func append(_ entry: KeyEntry) {
    lines.append(AuthorizedKeysLine(entry: entry))
    hasFinalNewline = true
  }
}

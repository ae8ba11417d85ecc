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
    var finalNewline = false
    bytes.withUnsafeBufferPointer { buffer in
      var start = 0
      let count = buffer.count
      lines.reserveCapacity(count / 64 + 1)
      while start < count {
        var end = start
        while end < count, buffer[end] != 0x0A { end += 1 }
        let slice = UnsafeBufferPointer(rebasing: buffer[start..<end])
        lines.append(AuthorizedKeysLine(parsing: slice, raw: Array(slice)))
        if end < count {
          finalNewline = true
          start = end + 1
        } else {
          finalNewline = false
          start = end
        }
      }
    }
    self.lines = lines
    self.hasFinalNewline = finalNewline
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

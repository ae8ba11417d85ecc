import AuthorizedKeys

/// Renders ``InspectRecord`` values for `keyward inspect`: a JSON array (one record per
/// output line, fields in a fixed order, explicit `null`s) or a plain-text table.
public enum InspectRenderer {
  /// `[\n  {record},\n  …\n]\n`.
  public static func json(_ records: [InspectRecord]) -> [UInt8] {
    var writer = JSONWriter()
    for record in records { writer.append(record) }
    return JSONWriter.assemble([writer])
  }

  /// Writes records as JSON objects separated by `,\n  `; ``assemble(_:)`` joins the pieces
  /// of one or more writers into the array.
  struct JSONWriter {
    private(set) var out: [UInt8] = []
    private var count = 0

    init(capacity: Int = 0) { out.reserveCapacity(capacity) }
    private(set) var sawInvalid = false

    private static let separator = Array(",\n  ".utf8)
    private static let lineKey = Array("{\"line\":".utf8)
    private static let kindKey = Array(",\"kind\":".utf8)
    private static let typeKey = Array(",\"type\":".utf8)
    private static let bitsKey = Array(",\"bits\":".utf8)
    private static let fingerprintKey = Array(",\"fingerprint\":".utf8)
    private static let optionsKey = Array(",\"options\":[".utf8)
    private static let nameKey = Array("{\"name\":".utf8)
    private static let valueKey = Array(",\"value\":".utf8)
    private static let commentKey = Array("],\"comment\":".utf8)
    private static let errorKey = Array(",\"error\":".utf8)
    private static let null = Array("null".utf8)

    mutating func append(_ record: InspectRecord) {
      if record.kind == .invalid { sawInvalid = true }
      if count > 0 { out.append(contentsOf: Self.separator) }
      count += 1
      out.append(contentsOf: Self.lineKey)
      appendNumber(record.line)
      out.append(contentsOf: Self.kindKey)
      appendJSON(record.kind.rawValue, to: &out)
      out.append(contentsOf: Self.typeKey)
      appendJSON(record.type, to: &out)
      out.append(contentsOf: Self.bitsKey)
      if let bits = record.bits { appendNumber(bits) } else { out.append(contentsOf: Self.null) }
      out.append(contentsOf: Self.fingerprintKey)
      appendJSON(record.fingerprint, to: &out)
      out.append(contentsOf: Self.optionsKey)
      for (optionIndex, option) in record.options.enumerated() {
        if optionIndex > 0 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: Self.nameKey)
        appendJSON(option.name, to: &out)
        out.append(contentsOf: Self.valueKey)
        appendJSON(option.value, to: &out)
        out.append(UInt8(ascii: "}"))
      }
      out.append(contentsOf: Self.commentKey)
      appendJSON(record.comment, to: &out)
      out.append(contentsOf: Self.errorKey)
      appendJSON(record.error, to: &out)
      out.append(UInt8(ascii: "}"))
    }

    private mutating func appendNumber(_ value: Int) {
      if value < 0 { out.append(UInt8(ascii: "-")) }
      var magnitude = value.magnitude
      var divisor: UInt = 1
      while divisor <= magnitude / 10 { divisor *= 10 }
      repeat {
        out.append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
        magnitude %= divisor
        divisor /= 10
      } while divisor > 0
    }

    /// The JSON array of the records of `writers`, as pieces to write one after another.
    static func pieces(_ writers: [JSONWriter]) -> [[UInt8]] {
      var pieces: [[UInt8]] = [Array("[".utf8)]
      var first = true
      for writer in writers where writer.count > 0 {
        pieces.append(first ? Array("\n  ".utf8) : separator)
        pieces.append(writer.out)
        first = false
      }
      pieces.append(first ? Array("]\n".utf8) : Array("\n]\n".utf8))
      return pieces
    }

    /// The JSON array of the records of `writers`, in order.
    static func assemble(_ writers: [JSONWriter]) -> [UInt8] {
      var result: [UInt8] = []
      result.reserveCapacity(writers.reduce(8) { $0 + $1.out.count + 4 })
      result.append(UInt8(ascii: "["))
      var first = true
      for writer in writers where writer.count > 0 {
        result.append(contentsOf: first ? Array("\n  ".utf8) : separator)
        result.append(contentsOf: writer.out)
        first = false
      }
      result.append(contentsOf: first ? Array("]\n".utf8) : Array("\n]\n".utf8))
      return result
    }
  }

  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  /// A JSON string literal (or `null`), escaping quotes, backslashes and control characters.
  static func appendJSON(_ value: String?, to out: inout [UInt8]) {
    guard let value else {
      out.append(contentsOf: "null".utf8)
      return
    }
    out.append(UInt8(ascii: "\""))
    let utf8 = value.utf8
    let plain: Bool? = utf8.withContiguousStorageIfAvailable { bytes in
      guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) else {
        return false
      }
      out.append(contentsOf: bytes)
      return true
    }
    if plain == true {
      out.append(UInt8(ascii: "\""))
      return
    }
    for byte in utf8 {
      switch byte {
      case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
      case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
      case 0x0A: out.append(contentsOf: "\\n".utf8)
      case 0x0D: out.append(contentsOf: "\\r".utf8)
      case 0x09: out.append(contentsOf: "\\t".utf8)
      case 0x00..<0x20, 0x7F:
        out.append(contentsOf: "\\u00".utf8)
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0F)])
      default: out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
  }

  /// A table: LINE KIND TYPE BITS FINGERPRINT, then options, comment or error.
  public static func text(_ records: [InspectRecord]) -> [UInt8] {
    let widths = textWidths([records])
    return textHeader(widths) + textRows(records, widths: widths)
  }

  static let textColumns = ["LINE", "KIND", "TYPE", "BITS", "FINGERPRINT"]

  /// The cells of one record's fixed columns.
  static func textCells(_ record: InspectRecord) -> [String] {
    [
      String(record.line), record.kind.rawValue, record.type ?? "-",
      record.bits.map { String($0) } ?? "-", record.fingerprint ?? "-",
    ]
  }

  /// Column widths over every group of records (groups are formatted separately, in parallel).
  static func textWidths(_ groups: [[InspectRecord]]) -> [Int] {
    var widths = textColumns.map(\.count)
    for records in groups {
      for record in records {
        for (column, cell) in textCells(record).enumerated() {
          widths[column] = max(widths[column], cell.utf8.count)
        }
      }
    }
    return widths
  }

  static func textHeader(_ widths: [Int]) -> [UInt8] {
    var out: [UInt8] = []
    appendRow(textColumns, detail: "DETAILS", widths: widths, to: &out)
    return out
  }

  /// The table rows of `records`, aligned to `widths`.
  static func textRows(_ records: [InspectRecord], widths: [Int]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(records.count * 160)
    for record in records {
      var details: [String] = []
      if !record.options.isEmpty {
        details.append("options: " + KeyOptions.render(record.options))
      }
      if let comment = record.comment {
        details.append(record.kind == .comment ? comment : "comment: " + comment)
      }
      if let error = record.error { details.append("error: " + error) }
      appendRow(textCells(record), detail: details.joined(separator: "  "), widths: widths, to: &out)
    }
    return out
  }

  private static func appendRow(_ cells: [String], detail: String, widths: [Int], to out: inout [UInt8]) {
    for (column, cell) in cells.enumerated() {
      out.append(contentsOf: cell.utf8)
      out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[column] - cell.utf8.count + 2))
    }
    appendVisible(detail, to: &out)
    while out.last == UInt8(ascii: " ") { out.removeLast() }
    out.append(0x0A)
  }

  /// Appends text with control characters shown as `\xNN`, so that a table row stays one line.
  static func appendVisible(_ text: String, to out: inout [UInt8]) {
    for byte in text.utf8 {
      if byte < 0x20 || byte == 0x7F {
        out.append(contentsOf: "\\x".utf8)
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0F)])
      } else {
        out.append(byte)
      }
    }
  }
}

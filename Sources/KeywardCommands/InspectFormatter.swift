import AuthorizedKeys

/// Formats ``InspectRecord`` values for `keyward inspect`: a JSON array (one record per
/// output line, fields in a fixed order, explicit `null`s) or a plain-text table.
enum InspectFormatter {
  /// `[\n  {record},\n  …\n]\n`.
  static func json(_ records: [InspectRecord]) -> [UInt8] {
    var writer = JSONWriter()
    for record in records { writer.append(record) }
    return writer.finish()
  }

  /// Builds the JSON array one record at a time.
  struct JSONWriter {
    private(set) var out: [UInt8] = Array("[".utf8)
    private var count = 0
    private(set) var sawInvalid = false

    mutating func append(_ record: InspectRecord) {
      if record.kind == .invalid { sawInvalid = true }
      out.append(contentsOf: count == 0 ? "\n  ".utf8 : ",\n  ".utf8)
      count += 1
      out.append(contentsOf: "{\"line\":".utf8)
      appendNumber(record.line)
      out.append(contentsOf: ",\"kind\":".utf8)
      appendJSON(record.kind.rawValue, to: &out)
      out.append(contentsOf: ",\"type\":".utf8)
      appendJSON(record.type, to: &out)
      out.append(contentsOf: ",\"bits\":".utf8)
      if let bits = record.bits { appendNumber(bits) } else { out.append(contentsOf: "null".utf8) }
      out.append(contentsOf: ",\"fingerprint\":".utf8)
      appendJSON(record.fingerprint, to: &out)
      out.append(contentsOf: ",\"options\":[".utf8)
      for (optionIndex, option) in record.options.enumerated() {
        if optionIndex > 0 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: "{\"name\":".utf8)
        appendJSON(option.name, to: &out)
        out.append(contentsOf: ",\"value\":".utf8)
        appendJSON(option.value, to: &out)
        out.append(UInt8(ascii: "}"))
      }
      out.append(contentsOf: "],\"comment\":".utf8)
      appendJSON(record.comment, to: &out)
      out.append(contentsOf: ",\"error\":".utf8)
      appendJSON(record.error, to: &out)
      out.append(UInt8(ascii: "}"))
    }

    private mutating func appendNumber(_ value: Int) {
      if value < 0 { out.append(UInt8(ascii: "-")) }
      var magnitude = value.magnitude
      var digits: [UInt8] = []
      repeat {
        digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
        magnitude /= 10
      } while magnitude > 0
      out.append(contentsOf: digits.reversed())
    }

    mutating func finish() -> [UInt8] {
      out.append(contentsOf: count == 0 ? "]\n".utf8 : "\n]\n".utf8)
      return out
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
  static func text(_ records: [InspectRecord]) -> [UInt8] {
    let header = ["LINE", "KIND", "TYPE", "BITS", "FINGERPRINT"]
    var rows: [[String]] = []
    rows.reserveCapacity(records.count)
    for record in records {
      rows.append([
        String(record.line), record.kind.rawValue, record.type ?? "-",
        record.bits.map { String($0) } ?? "-", record.fingerprint ?? "-",
      ])
    }
    var widths = header.map(\.count)
    for row in rows {
      for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
    }
    var out: [UInt8] = []
    out.reserveCapacity(records.count * 160)
    func appendRow(_ cells: [String], detail: String) {
      for (column, cell) in cells.enumerated() {
        out.append(contentsOf: cell.utf8)
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[column] - cell.count + 2))
      }
      appendVisible(detail, to: &out)
      while out.last == UInt8(ascii: " ") { out.removeLast() }
      out.append(0x0A)
    }
    appendRow(header, detail: "DETAILS")
    for (record, row) in zip(records, rows) {
      var details: [String] = []
      if !record.options.isEmpty {
        details.append("options: " + KeyOptions.render(record.options))
      }
      if let comment = record.comment {
        details.append(record.kind == .comment ? comment : "comment: " + comment)
      }
      if let error = record.error { details.append("error: " + error) }
      appendRow(row, detail: details.joined(separator: "  "))
    }
    return out
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

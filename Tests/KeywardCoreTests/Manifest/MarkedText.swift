import Foundation

@testable import KeywardCore

/// Text with expected diagnostics marked in place, in the spirit of swift-format's
/// `MarkedText`: `«code»` (an error) or `«warning:code»` right before the character the
/// diagnostic must point at. Markers are removed byte by byte, so a fixture may hold
/// invalid UTF-8. A comment line `# expect-at PATH:LINE:COLUMN CODE` expects a diagnostic in
/// another file (a key file), with PATH relative to the fixture's directory.
struct MarkedText {
  /// One expected diagnostic: `file:line:column severity code`.
  struct Expectation: Hashable, CustomStringConvertible, Comparable {
    var file: String
    var line: Int
    var column: Int
    var severity: DiagnosticSeverity
    var code: String

    var description: String { "\(file):\(line):\(column) \(severity.rawValue) \(code)" }

    static func < (lhs: Expectation, rhs: Expectation) -> Bool { lhs.description < rhs.description }
  }

  var bytes: [UInt8] = []
  var expectations: [Expectation] = []

  init(_ marked: [UInt8], file: String) {
    let open: [UInt8] = [0xC2, 0xAB]
    let close: [UInt8] = [0xC2, 0xBB]
    var line = 1
    var column = 1
    var index = 0
    while index < marked.count {
      if marked[index...].starts(with: open),
        let end = marked[(index + 2)...].firstRange(of: close)
      {
        let label = String(decoding: marked[(index + 2)..<end.lowerBound], as: UTF8.self)
        let parts = label.split(separator: ":", maxSplits: 1).map(String.init)
        let severity: DiagnosticSeverity = parts.count == 2 && parts[0] == "warning" ? .warning : .error
        expectations.append(
          Expectation(file: file, line: line, column: column, severity: severity, code: parts.last ?? ""))
        index = end.upperBound
        continue
      }
      let byte = marked[index]
      bytes.append(byte)
      if byte == 0x0A {
        line += 1
        column = 1
      } else if byte & 0xC0 != 0x80 {
        column += 1
      }
      index += 1
    }
    let directory = (file as NSString).deletingLastPathComponent
    for textLine in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      guard textLine.hasPrefix("# expect-at ") else { continue }
      let fields = textLine.dropFirst("# expect-at ".count).split(separator: " ")
      let place = fields[0].split(separator: ":")
      expectations.append(
        Expectation(
          file: (directory as NSString).appendingPathComponent(String(place[0])), line: Int(place[1]) ?? 0,
          column: Int(place[2]) ?? 0, severity: .error, code: String(fields[1])))
    }
  }
}

import Foundation

/// Prints diagnostics for people (`file:line:column: error: message [code]`) and for machines (JSON).
public enum DiagnosticRenderer {
  /// One diagnostic per line (notes on their own lines), in the order given.
  public static func text(_ diagnostics: [Diagnostic]) -> String {
    diagnostics.map { $0.description + "\n" }.joined()
  }

  /// The JSON object of one diagnostic, as `keyward validate --format json` prints it.
  public struct Record: Codable, Hashable, Sendable {
    public struct Note: Codable, Hashable, Sendable {
      public var message: String
      public var file: String?
      public var line: Int?
      public var column: Int?
    }

    public var severity: String
    public var code: String
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var notes: [Note]

    public init(_ diagnostic: Diagnostic) {
      severity = diagnostic.severity.rawValue
      code = diagnostic.code.rawValue
      message = diagnostic.message
      file = diagnostic.location?.file
      line = diagnostic.location?.line
      column = diagnostic.location?.column
      notes = diagnostic.notes.map {
        Note(
          message: $0.message, file: $0.location?.file, line: $0.location?.line, column: $0.location?.column)
      }
    }
  }

  /// A JSON encoder with sorted keys, so that output is stable.
  public static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return encoder
  }
}

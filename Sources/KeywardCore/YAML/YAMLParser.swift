internal import CLibYAML

/// Reads YAML text into a `YAMLNode` tree with libyaml's event API. The only file that
/// imports `CLibYAML`: it owns every libyaml pointer and turns libyaml's errors into diagnostics.
///
/// What it guarantees, whatever the input:
/// - every node carries its 1-based line and column (columns count Unicode scalars);
/// - duplicate keys in a mapping are errors pointing at both occurrences;
/// - anchors and aliases work; an alias inside the node it names (a cycle), an alias to an
///   unknown anchor, or aliases that expand to more than `aliasBudget` nodes (an alias bomb)
///   stop loading with an error, in time and memory bounded by the input size;
/// - `<<` merge keys are applied (explicit keys win; among several sources the first wins);
/// - one document per file; tags other than `!!str`, `!!map`, `!!seq` and `!` are refused;
/// - nesting deeper than `maximumDepth` is refused, so no consumer can overflow its stack.
public enum YAMLParser {
  /// How many nodes aliases may add to a document in total.
  public static let defaultAliasBudget = 100_000
  /// How many bytes of scalar text aliases may add to a document in total (4 MiB): a long
  /// value repeated by aliases cannot grow into gigabytes of text or messages.
  public static let defaultAliasByteBudget = 4 << 20
  /// The deepest nesting of collections accepted.
  public static let maximumDepth = 200

  /// Parses `bytes` (UTF-8, or UTF-16 with a byte order mark) from `file`.
  public static func parse(
    _ bytes: [UInt8], file: String, aliasBudget: Int = defaultAliasBudget,
    aliasByteBudget: Int = defaultAliasByteBudget
  )
    -> YAMLDocument
  {
    guard !bytes.isEmpty else { return YAMLDocument(file: file, root: nil, diagnostics: []) }
    var builder = YAMLTreeBuilder(
      file: file, aliasBudget: aliasBudget, aliasByteBudget: aliasByteBudget, maximumDepth: maximumDepth)
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else {
      builder.fail(.yamlSyntax, "libyaml could not start (out of memory)", line: 1, column: 1)
      return builder.document
    }
    defer { yaml_parser_delete(&parser) }
    bytes.withUnsafeBufferPointer { buffer in
      yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
      var documents = 0
      events: while !builder.stopped {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else {
          report(parser, bytes: bytes, into: &builder)
          break
        }
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        let column = Int(event.start_mark.column) + 1
        switch event.type {
        case YAML_STREAM_END_EVENT:
          break events
        case YAML_DOCUMENT_START_EVENT:
          documents += 1
          if documents > 1 {
            builder.fail(
              .unsupportedYAML,
              "a manifest file holds one YAML document; split this one into its own file",
              line: line, column: column)
          }
        case YAML_ALIAS_EVENT:
          builder.alias(text(event.data.alias.anchor) ?? "", line: line, column: column)
        case YAML_SCALAR_EVENT:
          let scalar = event.data.scalar
          let value: String =
            scalar.value.map {
              String(decoding: UnsafeBufferPointer(start: $0, count: Int(scalar.length)), as: UTF8.self)
            } ?? ""
          builder.scalar(
            value, style: style(scalar.style), tag: text(scalar.tag), anchor: text(scalar.anchor),
            line: line, column: column)
        case YAML_SEQUENCE_START_EVENT:
          let start = event.data.sequence_start
          builder.startCollection(
            isMapping: false, tag: text(start.tag), anchor: text(start.anchor), line: line, column: column)
        case YAML_MAPPING_START_EVENT:
          let start = event.data.mapping_start
          builder.startCollection(
            isMapping: true, tag: text(start.tag), anchor: text(start.anchor), line: line, column: column)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
          builder.endCollection()
        default:
          continue
        }
      }
    }
    return builder.document
  }

  private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    guard let pointer else { return nil }
    return String(cString: pointer)
  }

  private static func style(_ style: yaml_scalar_style_t) -> YAMLNode.ScalarStyle {
    switch style {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
    case YAML_LITERAL_SCALAR_STYLE: .literal
    case YAML_FOLDED_SCALAR_STYLE: .folded
    default: .plain
    }
  }

  /// Turns libyaml's error state into a diagnostic.
  private static func report(_ parser: yaml_parser_t, bytes: [UInt8], into builder: inout YAMLTreeBuilder) {
    let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
    switch parser.error {
    case YAML_READER_ERROR:
      let (line, column) = position(ofByte: Int(parser.problem_offset), in: bytes)
      var message = "the file is not valid UTF-8 text: \(problem.lowercased())"
      if parser.problem_value >= 0 {
        message += " (byte 0x\(String(parser.problem_value, radix: 16)))"
      }
      builder.fail(.invalidEncoding, message, line: line, column: column)
    case YAML_MEMORY_ERROR:
      builder.fail(.yamlSyntax, "libyaml ran out of memory", line: 1, column: 1)
    default:
      var notes: [Diagnostic.Note] = []
      if let context = parser.context.map({ String(cString: $0) }) {
        let mark = parser.context_mark
        notes.append(
          Diagnostic.Note(
            "\(context) that starts here",
            at: SourceLocation(file: builder.file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)))
      }
      let mark = parser.problem_mark
      let offset = Int(mark.index)
      let tab = offset >= 0 && offset < bytes.count && bytes[offset] == 0x09
      builder.fail(
        .yamlSyntax, tab ? problem + " (a tab: YAML indents with spaces only)" : problem,
        line: Int(mark.line) + 1, column: Int(mark.column) + 1, notes: notes)
    }
  }

  /// 1-based line and column (in Unicode scalars) of a byte offset, for reader errors.
  static func position(ofByte offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    for byte in bytes.prefix(max(0, offset)) {
      if byte == 0x0A {
        line += 1
        column = 1
      } else if byte & 0xC0 != 0x80 {
        column += 1
      }
    }
    return (line, column)
  }
}

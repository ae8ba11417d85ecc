#if canImport(Glibc)
  import Glibc
#endif

/// sshd_config as sshd reads it: lines split into keyword and arguments (quotes honoured,
/// `Keyword=value` accepted, `#` comments), with every `Include` expanded in place.
///
/// The tree keeps included files as nested ``File``s because sshd restores the `Match` state
/// after an included file ends.
public struct SSHDConfig: Sendable {
  /// One directive.
  public struct Line: Hashable, Sendable {
    /// The keyword in lower case.
    public var keyword: String
    public var arguments: [String]
    /// The text after the keyword (for `ForceCommand` and the `*Command` settings, which take it whole).
    public var rest: String
    public var file: String
    public var number: Int
  }

  /// A directive, a `Match` line, or an `Include` with the files it read.
  public indirect enum Entry: Sendable {
    case line(Line)
    case match(Line)
    case include(Line, [File])
  }

  /// One file's entries.
  public struct File: Sendable {
    public var path: String
    public var entries: [Entry]
  }

  public var root: File
  /// Files that could not be read, quotes that do not close, includes too deep.
  public var problems: [String]

  /// The directory relative `Include` paths are taken from.
  public static let configDirectory = "/etc/ssh"

  /// Reads `path` and its includes through `reader`.
  public static func load(path: String = "/etc/ssh/sshd_config", reader: some SSHDConfigReader) -> SSHDConfig
  {
    var problems: [String] = []
    guard let text = reader.read(path) else {
      return SSHDConfig(root: File(path: path, entries: []), problems: ["cannot read '\(path)'"])
    }
    let root = parse(text, path: path, reader: reader, depth: 0, problems: &problems)
    return SSHDConfig(root: root, problems: problems)
  }

  /// Parses one file's text (includes read through `reader`).
  public static func parse(
    _ text: String, path: String, reader: some SSHDConfigReader, depth: Int, problems: inout [String]
  ) -> File {
    var entries: [Entry] = []
    var number = 0
    for raw in lines(text) {
      number += 1
      guard let line = split(raw, file: path, number: number, problems: &problems) else { continue }
      switch line.keyword {
      case "match":
        entries.append(.match(line))
      case "include":
        guard depth < 16 else {
          problems.append("\(path):\(number): includes nested too deeply")
          continue
        }
        var files: [File] = []
        for argument in line.arguments {
          let pattern = argument.hasPrefix("/") ? argument : configDirectory + "/" + argument
          for name in expand(pattern, reader: reader) {
            guard let text = reader.read(name) else {
              problems.append("\(path):\(number): cannot read included '\(name)'")
              continue
            }
            files.append(parse(text, path: name, reader: reader, depth: depth + 1, problems: &problems))
          }
        }
        entries.append(.include(line, files))
      default:
        entries.append(.line(line))
      }
    }
    return File(path: path, entries: entries)
  }

  /// Lines split at each `\n` byte, as sshd splits them. (Splitting a `String` at the
  /// `Character` "\n" would not split at "\r\n", which Swift holds as one character.)
  public static func lines(_ text: String) -> [Substring] {
    var out: [Substring] = []
    var start = text.startIndex
    var index = text.unicodeScalars.startIndex
    while index < text.unicodeScalars.endIndex {
      if text.unicodeScalars[index] == "\n" {
        out.append(text[start..<index])
        start = text.unicodeScalars.index(after: index)
      }
      index = text.unicodeScalars.index(after: index)
    }
    out.append(text[start...])
    return out
  }

  /// Splits a line as `strdelim` + `argv_split` do; nil for blank lines and comments.
  static func split(_ raw: Substring, file: String, number: Int, problems: inout [String]) -> Line? {
    var text = raw
    while let last = text.last, last == "\r" || last == " " || last == "\t" || last == "\u{0C}" {
      text = text.dropLast()
    }
    text = text.drop { $0 == " " || $0 == "\t" }
    guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
    guard let end = text.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "=" }) else {
      problems.append("\(file):\(number): no argument after keyword '\(text)'")
      return nil
    }
    let keyword = text[..<end].lowercased()
    var rest = text[end...]
    rest = rest.drop { $0 == " " || $0 == "\t" }
    if rest.hasPrefix("=") { rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" } }
    var arguments: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for ch in rest {
      if escaped {
        current.append(ch)
        escaped = false
        continue
      }
      if ch == "\\" && quote != "'" {
        escaped = true
        inWord = true
        continue
      }
      if let q = quote {
        if ch == q { quote = nil } else { current.append(ch) }
        continue
      }
      if ch == "\"" || ch == "'" {
        quote = ch
        inWord = true
        continue
      }
      if ch == " " || ch == "\t" {
        if inWord { arguments.append(current) }
        current = ""
        inWord = false
        continue
      }
      if ch == "#" && !inWord { break }
      current.append(ch)
      inWord = true
    }
    if quote != nil { problems.append("\(file):\(number): invalid quotes") }
    if inWord { arguments.append(current) }
    return Line(keyword: keyword, arguments: arguments, rest: String(rest), file: file, number: number)
  }

  /// `glob(3)` for the patterns sshd_config uses: wildcards in the last component; sorted.
  static func expand(_ pattern: String, reader: some SSHDConfigReader) -> [String] {
    guard pattern.contains(where: { "*?[".contains($0) }) else { return [pattern] }
    let slash = pattern.lastIndex(of: "/")!
    let directory = String(pattern[..<slash])
    let name = pattern[pattern.index(after: slash)...]
    guard !directory.contains(where: { "*?[".contains($0) }),
      let names = reader.list(directory.isEmpty ? "/" : directory)
    else { return [] }
    return
      names
      .filter { !$0.hasPrefix(".") && fnmatch(String(name), $0, 0) == 0 }
      .sorted()
      .map { directory + "/" + $0 }
  }
}

import ArgumentParser
import Foundation
import KeywardCommands
import KeywardTestSupport
import Testing

/// Every `keyward` command line the documents show (README.md, docs/, contrib/, examples/) parses
/// with the real command line, and every `--flag` they name as keyward's exists, so help and
/// documents cannot drift apart. (`DocTranscriptFleetTests` runs the transcripts themselves.)
struct DocumentationCommandTests {
  /// Flags other programs take that the documents name in passing, with whose they are.
  static let foreignFlags: [String: String] = [
    "--detailed-exitcodes": "Puppet's, compared with keyward's --detailed-exitcode",
    "--api": "contrib/keyward-comment.py",
    "--lint": "scripts/package",
    "--collector": "prometheus-node-exporter's, in the textfile-collector setup",
  ]

  static let root = Fleet.packageRoot

  /// README.md, docs/, contrib/ and examples/: every Markdown, YAML, shell and unit file.
  static var documents: [String] {
    var paths = ["README.md"]
    for folder in ["docs", "contrib", "examples"] {
      let enumerator = FileManager.default.enumerator(atPath: root + "/" + folder)
      while let path = enumerator?.nextObject() as? String {
        let name = (path as NSString).lastPathComponent
        let keep = [".md", ".yaml", ".yml", ".service", ".timer", ".sh"].contains { name.hasSuffix($0) }
        if keep || name == "keyward-pull" { paths.append(folder + "/" + path) }
      }
    }
    return paths.sorted()
  }

  /// One command line found in a document.
  struct Found: CustomStringConvertible {
    var file: String
    var line: Int
    var text: String
    /// A whole command (a transcript, code block or script line) rather than a mention in
    /// prose (inline code such as `keyward apply --local`), which may leave out its arguments.
    var complete: Bool
    var description: String { "\(file):\(line): \(text)" }
  }

  /// `keyward ...` in inline code, after a `$ ` prompt, at the start of a line of a code block or
  /// a script, or after `ExecStart=` naming the installed binary.
  static func commandLines(in text: String, file: String) -> [Found] {
    var found: [Found] = []
    let markdown = file.hasSuffix(".md")
    var inCode = !markdown
    for (index, rawLine) in text.components(separatedBy: "\n").enumerated() {
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      if markdown, line.hasPrefix("```") {
        inCode.toggle()
        continue
      }
      if markdown, !inCode {
        var rest = Substring(rawLine)
        while let start = rest.range(of: "`keyward ") {
          let after = rest[start.upperBound...]
          guard let end = after.firstIndex(of: "`") else { break }
          found.append(
            Found(file: file, line: index + 1, text: "keyward " + after[..<end], complete: false))
          rest = after[after.index(after: end)...]
        }
        continue
      }
      for prefix in ["$ keyward ", "keyward ", "- keyward ", "ExecStart=/usr/bin/keyward "]
      where line.hasPrefix(prefix) {
        found.append(
          Found(
            file: file, line: index + 1, text: "keyward " + line.dropFirst(prefix.count), complete: true))
        break
      }
    }
    return found
  }

  /// Whether a refusal only says that a mention in prose left out required arguments.
  static func onlyIncomplete(_ message: String) -> Bool {
    let wrongWords = [
      "Unknown option", "Unexpected argument", "unexpected argument", "Missing value", "is invalid",
    ]
    return !wrongWords.contains { message.contains($0) }
  }

  /// Shell-like words of a documented command line, with usage placeholders made concrete:
  /// `[OPTIONAL]` parts dropped, `...` and `\|` alternatives reduced to one value, `$VAR` kept.
  static func words(_ line: String) -> [String]? {
    var text = line
    if let comment = text.range(of: " #") { text = String(text[..<comment.lowerBound]) }
    for stop in [" |", " &&", " ||", " >", " 2>", ";", " \\"] {
      if let range = text.range(of: stop) { text = String(text[..<range.lowerBound]) }
    }
    var words: [String] = []
    var current = ""
    var quote: Character?
    var inWord = false
    for character in text {
      if let open = quote {
        if character == open { quote = nil } else { current.append(character) }
      } else if character == "'" || character == "\"" {
        quote = character
        inWord = true
      } else if character == " " {
        if inWord { words.append(current) }
        current = ""
        inWord = false
      } else {
        current.append(character)
        inWord = true
      }
    }
    if quote != nil { return nil }
    if inWord { words.append(current) }
    return words.compactMap { word in
      if word.hasPrefix("[") { return nil }
      if word == "..." || word == "…" { return "X" }
      let cut = word.components(separatedBy: "\\|")[0].replacingOccurrences(of: "...", with: "")
      return cut.isEmpty ? nil : cut
    }
  }

  /// Every flag of every keyward command, read from the commands' own help.
  static let keywardFlags: Set<String> = {
    var flags: Set<String> = ["--help", "--version"]
    var pending: [ParsableCommand.Type] = [KeywardCommand.self]
    let pattern = /--[a-z][a-z0-9-]*/
    while let command = pending.popLast() {
      pending += command.configuration.subcommands
      for match in command.helpMessage(columns: 200).matches(of: pattern) {
        flags.insert(String(match.output))
      }
    }
    return flags
  }()

  @Test func everyDocumentedCommandLineParses() throws {
    var failures: [String] = []
    var checked = 0
    for file in Self.documents {
      let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
      for found in Self.commandLines(in: text, file: file) {
        guard let words = Self.words(found.text), words.count >= 2 else { continue }
        checked += 1
        do {
          _ = try KeywardCommand.parseAsRoot(Array(words.dropFirst()))
        } catch {
          let message = KeywardCommand.message(for: error)
          let cleanExit = KeywardCommand.exitCode(for: error) == .success
          if !cleanExit, found.complete || !Self.onlyIncomplete(message) {
            failures.append("\(found)\n    \(message)")
          }
        }
      }
    }
    print("documented keyward command lines: \(checked) parsed, \(failures.count) refused")
    #expect(checked > 50, "the scan found too few command lines: is it still reading the documents?")
    #expect(failures.isEmpty, "\n\(failures.joined(separator: "\n"))")
  }

  @Test func everyDocumentedFlagExists() throws {
    var unknown: [String] = []
    var checked = 0
    let flag = /(?:^|[^A-Za-z0-9-])(--[a-z][a-z0-9-]*)/
    for file in Self.documents {
      let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
      for (index, line) in text.components(separatedBy: "\n").enumerated() {
        // Where a document speaks of keyward's flags: inline code and comments in YAML files.
        var spans: [Substring] = []
        if file.hasSuffix(".md") {
          spans = line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map(\.element)
            .filter { $0.hasPrefix("--") || $0.hasPrefix("keyward ") }
        } else if file.hasSuffix(".yaml") || file.hasSuffix(".yml"), let hash = line.firstIndex(of: "#") {
          spans = [line[hash...]]
        }
        for span in spans {
          for match in span.matches(of: flag) {
            let name = String(match.output.1)
            checked += 1
            if !Self.keywardFlags.contains(name), Self.foreignFlags[name] == nil {
              unknown.append("\(file):\(index + 1): '\(name)' is not a flag of any keyward command")
            }
          }
        }
      }
    }
    print("flags named in documents: \(checked) checked against \(Self.keywardFlags.count) keyward flags")
    #expect(unknown.isEmpty, "\n\(unknown.joined(separator: "\n"))")
  }

  /// A line of a command's overview and discussion (the text before `USAGE:`) that ends
  /// although the next line's first word would still have fit (ArgumentParser fills lines up to
  /// `columns - 1`): a hard line break in the source text, which shows as a ragged wrap. Lines
  /// laid out as a table (two spaces inside) are meant as they are.
  static func forcedBreaks(in help: String, columns: Int) -> [String] {
    let overview = help.components(separatedBy: "\nUSAGE:")[0]
    let lines = overview.components(separatedBy: "\n").filter {
      !$0.trimmingCharacters(in: .whitespaces).contains("  ")
    }
    var found: [String] = []
    for (line, next) in zip(lines, lines.dropFirst()) {
      let indent = next.prefix { $0 == " " }.count
      guard !line.trimmingCharacters(in: .whitespaces).isEmpty,
        indent == line.prefix(while: { $0 == " " }).count,
        let first = next.dropFirst(indent).split(separator: " ").first,
        let start = first.first, start.isLowercase || start.isNumber
      else { continue }
      if line.count + 1 + first.count < columns { found.append(line) }
    }
    return found
  }

  @Test func helpTextWrapsCleanly() {
    var pending: [ParsableCommand.Type] = [KeywardCommand.self]
    var broken: [String] = []
    var commands = 0
    while let command = pending.popLast() {
      pending += command.configuration.subcommands
      commands += 1
      for line in Self.forcedBreaks(in: command.helpMessage(columns: 80), columns: 80) {
        broken.append("\(command.configuration.commandName ?? "?"): '\(line)'")
      }
    }
    print("help of \(commands) commands checked at 80 columns: \(broken.count) forced line breaks")
    #expect(broken.isEmpty, "\n\(broken.joined(separator: "\n"))")
  }

  @Test(arguments: [
    (
      "keyward plan keys.yaml --ssh-config $LAB/ssh_config",
      ["keyward", "plan", "keys.yaml", "--ssh-config", "$LAB/ssh_config"]
    ),
    ("keyward report [PATH\\|USER@HOST...]", ["keyward", "report"]),
    ("keyward validate PATH...", ["keyward", "validate", "PATH"]),
    (
      "keyward import '*@lab1' --out manifests  # comment",
      ["keyward", "import", "*@lab1", "--out", "manifests"]
    ),
    ("keyward plan --metrics-file ...", ["keyward", "plan", "--metrics-file", "X"]),
    ("keyward plan keys | tee out", ["keyward", "plan", "keys"]),
  ])
  func wordsOfADocumentedLine(line: String, expected: [String]) {
    #expect(Self.words(line) == expected)
  }
}

import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// The command line's one way to the terminal: what the engines return or report (warnings,
/// failures, progress) is written here, with one label convention (`keyward: error: ...`,
/// `keyward: warning: ...`) and colour decided here (a terminal, no `NO_COLOR`).
enum Terminal {
  /// Colour only on a terminal, never with `NO_COLOR`, never with `--no-color`.
  static func useColor(noColorFlag: Bool) -> Bool {
    !noColorFlag && isatty(1) == 1 && getenv("NO_COLOR") == nil
  }

  static var stdinIsTerminal: Bool { isatty(0) == 1 }

  /// What a message on standard error is.
  enum Severity: String, Sendable {
    case error
    case warning
  }

  /// `keyward: error: TEXT` or `keyward: warning: TEXT` on standard error.
  static func report(_ severity: Severity, _ text: String) {
    error(label(severity, color: isatty(2) == 1 && getenv("NO_COLOR") == nil) + text)
  }

  /// `keyward: warning: `, the word in colour (bold red for errors, yellow for warnings) when asked.
  static func label(_ severity: Severity, color: Bool) -> String {
    guard color else { return "keyward: \(severity.rawValue): " }
    let code = severity == .error ? "1;31" : "33"
    return "keyward: \u{1B}[\(code)m\(severity.rawValue):\u{1B}[0m "
  }

  /// Renders a transport's progress as one line on standard error (`keyward: reading 3/10
  /// targets`), only when standard error is a terminal and the batch has more than one target;
  /// the line is cleared when the batch ends.
  @Sendable static func progress(_ progress: TransportProgress) {
    guard progress.total > 1, isatty(2) == 1 else { return }
    if progress.finished {
      write(fd: 2, "\r\u{1B}[K")
    } else {
      write(fd: 2, "\r\u{1B}[Kkeyward: \(progress.phase.rawValue) \(progress.done)/\(progress.total) targets")
    }
  }

  /// Writes to standard error.
  static func error(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    write(fd: 2, line)
  }

  /// Writes text to standard output, unbuffered with respect to stderr.
  static func out(_ text: String) {
    write(fd: 1, text)
  }

  private static func write(fd: Int32, _ text: String) {
    fflush(nil)
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return }
      bytes = bytes.dropFirst(n)
    }
  }

  /// This machine's host names: short and fully qualified.
  static func hostNames() -> Set<String> {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return [] }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var names: Set<String> = [name]
    if let short = name.split(separator: ".").first { names.insert(String(short)) }
    var hints = addrinfo()
    hints.ai_flags = AI_CANONNAME
    var info: UnsafeMutablePointer<addrinfo>?
    if getaddrinfo(name, nil, &hints, &info) == 0, let info {
      if let canon = info.pointee.ai_canonname { names.insert(String(cString: canon)) }
      freeaddrinfo(info)
    }
    return names
  }
}

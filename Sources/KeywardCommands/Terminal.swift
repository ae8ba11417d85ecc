#if canImport(Glibc)
  import Glibc
#endif

/// What the command line needs to know about its terminal.
enum Terminal {
  /// Colour only on a terminal, never with `NO_COLOR`, never with `--no-color`.
  static func useColor(noColorFlag: Bool) -> Bool {
    !noColorFlag && isatty(1) == 1 && getenv("NO_COLOR") == nil
  }

  static var stdinIsTerminal: Bool { isatty(0) == 1 }

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

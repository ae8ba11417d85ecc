/// The options grammar of an authorized_keys line, exactly as sshd 9.2's
/// `sshauthopt_parse()` validates it, and the canonical way to write options.
public enum KeyOptions {
  /// The flags, in the order sshd tries them; `true` when `no-` may precede the name.
  static let flags: [(name: [UInt8], negatable: Bool)] = [
    ("restrict", false), ("cert-authority", false), ("port-forwarding", true),
    ("agent-forwarding", true), ("x11-forwarding", true), ("touch-required", true),
    ("verify-required", true), ("pty", true), ("user-rc", true),
  ].map { (Array($0.0.utf8), $0.1) }

  /// The valued options, in the order sshd tries them.
  static let valued: [[UInt8]] = [
    "command", "principals", "from", "expiry-time", "environment", "permitopen", "permitlisten", "tunnel",
  ].map { Array($0.utf8) }

  /// Parses an options field (`no-pty,command="x"`) as sshd does: the field ends at the
  /// first space, TAB or NUL outside quotes, or at the end of the text.
  ///
  /// Values are returned unescaped (`\"` becomes `"`), flags with a `nil` value, names as
  /// written, in file order; empty items (`,,`) are skipped.
  public static func parse(_ field: some StringProtocol) throws(OptionsError) -> [KeyOption] {
    let bytes = Array(field.utf8)
    return try bytes.withUnsafeBufferPointer { (buffer) throws(OptionsError) -> [KeyOption] in
      var end = 0
      while end < buffer.count, buffer[end] != 0 { end += 1 }
      return try parse(UnsafeBufferPointer(rebasing: buffer[0..<end]), from: 0)
    }
  }

  /// Parses options starting at `start` in a NUL-free line buffer.
  static func parse(_ line: UnsafeBufferPointer<UInt8>, from start: Int) throws(OptionsError) -> [KeyOption] {
    var parser = OptionsParser(line: line, cursor: start)
    return try parser.run()
  }

  /// Writes options in canonical form: comma-separated, flags bare, every value in double
  /// quotes with each `"` written as `\"`. The result is what ``parse(_:)`` reads back,
  /// except for values ``check(_:)`` rejects; a newline or NUL in a value is written as a
  /// space so that the result is always a single line.
  public static func render(_ options: [KeyOption]) -> String {
    var output = ""
    for (index, option) in options.enumerated() {
      if index > 0 { output += "," }
      output += option.name
      guard let value = option.value else { continue }
      output += "=\""
      for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": output += "\\\""
        case "\n", "\0": output += " "
        default: output.unicodeScalars.append(scalar)
        }
      }
      output += "\""
    }
    return output
  }

  /// Checks that options, written by ``render(_:)``, are accepted by sshd and read back
  /// to the same values: known names, valid values, no duplicate `command`/`from`/
  /// `principals`, and no value sshd cannot represent (ending in a backslash, or holding a
  /// newline or NUL).
  public static func check(_ options: [KeyOption]) throws(OptionsError) {
    for option in options {
      guard let value = option.value else { continue }
      if value.hasSuffix("\\") || value.contains("\n") || value.contains("\0") {
        throw .unrepresentableValue(option: option.name)
      }
    }
    let rendered = render(options)
    let reparsed = try parse(rendered)
    guard reparsed == options else {
      throw .unknownOption(rendered)
    }
  }
}

/// The state machine of `sshauthopt_parse()`.
struct OptionsParser {
  let line: UnsafeBufferPointer<UInt8>
  var cursor: Int
  var options: [KeyOption] = []
  var environmentNames: [[UInt8]] = []
  var permitOpenCount = 0
  var permitListenCount = 0
  var seenCommand = false
  var seenPrincipals = false
  var seenFrom = false

  var atEnd: Bool { cursor >= line.count }
  var current: UInt8 { cursor < line.count ? line[cursor] : 0 }

  mutating func run() throws(OptionsError) -> [KeyOption] {
    while !atEnd, !KeyReader.isBlank(current) {
      let itemStart = cursor
      if let name = matchFlag() {
        options.append(KeyOption(name: name, value: nil))
      } else if let nameIndex = matchValued() {
        let name = String(decoding: line[itemStart..<(cursor - 1)], as: UTF8.self)
        try handleValued(nameIndex, name: name)
      }
      if atEnd || KeyReader.isBlank(current) { break }
      guard current == UInt8(ascii: ",") else {
        throw .unknownOption(
          String(decoding: line[itemStart..<min(line.count, itemStart + 40)], as: UTF8.self))
      }
      cursor += 1
      if atEnd { throw .unexpectedEnd }
    }
    return options
  }

  /// Case-insensitive prefix comparison (`strncasecmp`).
  private func hasPrefix(_ name: [UInt8], at position: Int) -> Bool {
    guard position + name.count <= line.count else { return false }
    for (offset, expected) in name.enumerated() {
      var byte = line[position + offset]
      if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
      if byte != expected { return false }
    }
    return true
  }

  private static let no: [UInt8] = Array("no-".utf8)

  /// `opt_flag()` for each flag in sshd's order; returns the text matched.
  private mutating func matchFlag() -> String? {
    for (name, negatable) in KeyOptions.flags {
      var position = cursor
      if negatable, hasPrefix(Self.no, at: position) { position += 3 }
      if hasPrefix(name, at: position) {
        let start = cursor
        cursor = position + name.count
        return String(decoding: line[start..<cursor], as: UTF8.self)
      }
    }
    return nil
  }

  /// `opt_match()`: a valued option name followed by `=`; moves past the `=`.
  private mutating func matchValued() -> Int? {
    for (index, name) in KeyOptions.valued.enumerated() {
      if hasPrefix(name, at: cursor), cursor + name.count < line.count,
        line[cursor + name.count] == UInt8(ascii: "=")
      {
        cursor += name.count + 1
        return index
      }
    }
    return nil
  }

  /// `opt_dequote()`.
  private mutating func dequote(_ option: String) throws(OptionsError) -> [UInt8] {
    guard current == UInt8(ascii: "\"") else { throw .missingStartQuote(option: option) }
    cursor += 1
    var value: [UInt8] = []
    while !atEnd, current != UInt8(ascii: "\"") {
      if current == UInt8(ascii: "\\"), cursor + 1 < line.count, line[cursor + 1] == UInt8(ascii: "\"") {
        cursor += 1
      }
      value.append(current)
      cursor += 1
    }
    guard !atEnd else { throw .missingEndQuote(option: option) }
    cursor += 1
    return value
  }

  private mutating func handleValued(_ index: Int, name: String) throws(OptionsError) {
    // Indexes into KeyOptions.valued.
    switch index {
    case 0, 1, 2:  // command, principals, from
      let seen = index == 0 ? seenCommand : index == 1 ? seenPrincipals : seenFrom
      if seen { throw .multipleClauses(option: ["command", "principals", "from"][index]) }
      let value = try dequote(name)
      switch index {
      case 0: seenCommand = true
      case 1: seenPrincipals = true
      default: seenFrom = true
      }
      options.append(KeyOption(name: name, value: String(decoding: value, as: UTF8.self)))
    case 3:  // expiry-time
      let value = try dequote(name)
      let text = String(decoding: value, as: UTF8.self)
      guard let time = AbsoluteTime.parse(value), time != 0 else { throw .invalidExpiryTime(text) }
      options.append(KeyOption(name: name, value: text))
    case 4:  // environment
      if environmentNames.count > 1024 { throw .tooManyEnvironment }
      let value = try dequote(name)
      let text = String(decoding: value, as: UTF8.self)
      guard let equals = value.firstIndex(of: UInt8(ascii: "=")) else { throw .invalidEnvironment(text) }
      let envName = Array(value[..<equals])
      guard Self.validEnvironmentName(envName) else { throw .invalidEnvironment(text) }
      if !environmentNames.contains(envName) { environmentNames.append(envName) }
      options.append(KeyOption(name: name, value: text))
    case 5, 6:  // permitopen, permitlisten
      let listen = index == 6
      let canonical = listen ? "permitlisten" : "permitopen"
      if (listen ? permitListenCount : permitOpenCount) > 4096 {
        throw .tooManyPermissions(option: canonical)
      }
      let value = try dequote(name)
      try Self.checkPermit(value, allowBarePort: listen)
      if listen { permitListenCount += 1 } else { permitOpenCount += 1 }
      options.append(KeyOption(name: name, value: String(decoding: value, as: UTF8.self)))
    default:  // tunnel
      let value = try dequote(name)
      let text = String(decoding: value, as: UTF8.self)
      guard Self.validTunnel(value) else { throw .invalidTunnel(text) }
      options.append(KeyOption(name: name, value: text))
    }
  }

  /// `valid_env_name()`: non-empty, ASCII letters, digits and `_`.
  static func validEnvironmentName(_ name: [UInt8]) -> Bool {
    guard !name.isEmpty else { return false }
    return name.allSatisfy { byte in
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        || byte == UInt8(ascii: "_")
    }
  }

  /// `a2tun()` without a remote part: `any` in any case, or `strtonum(s, 0, 2147483645)`.
  static func validTunnel(_ value: [UInt8]) -> Bool {
    if value.count == 3, String(decoding: value, as: UTF8.self).lowercased() == "any" { return true }
    return StrToNum.parse(value, min: 0, max: 2_147_483_645) != nil
  }

  /// `handle_permit()` validation: `hpdelim2()` host part, then port `*` or `a2port() > 0`.
  static func checkPermit(_ raw: [UInt8], allowBarePort: Bool) throws(OptionsError) {
    let text = String(decoding: raw, as: UTF8.self)
    var value = raw
    if allowBarePort, !value.contains(UInt8(ascii: ":")) { value = Array("*:".utf8) + value }
    // hpdelim2
    var hostEnd: Int
    if value.first == UInt8(ascii: "[") {
      guard let close = value.firstIndex(of: UInt8(ascii: "]")) else {
        throw .invalidPermissionHostname(text)
      }
      hostEnd = close + 1
    } else {
      hostEnd = value.firstIndex(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }) ?? value.count
    }
    let port: ArraySlice<UInt8>?
    if hostEnd == value.count {
      port = nil
    } else if value[hostEnd] == UInt8(ascii: ":") || value[hostEnd] == UInt8(ascii: "/") {
      port = value[(hostEnd + 1)...]
    } else {
      throw .invalidPermissionHostname(text)
    }
    guard hostEnd < 1025 else { throw .invalidPermissionHostname(text) }
    guard let port else { throw .invalidPermissionPort(text) }
    if port.elementsEqual("*".utf8) { return }
    // a2port: strtonum(0, 65535), else a TCP service name; must be > 0.
    if let number = StrToNum.parse(Array(port), min: 0, max: 65535) {
      guard number > 0 else { throw .invalidPermissionPort(text) }
      return
    }
    guard ServiceNames.tcpPort(Array(port)) != nil else { throw .invalidPermissionPort(text) }
  }
}

/// `strtonum(3)` as OpenBSD defines it (over glibc `strtoll`, base 10): optional leading
/// C-locale whitespace and sign, decimal digits, nothing after them, within bounds.
enum StrToNum {
  static func parse(_ text: [UInt8], min: Int64, max: Int64) -> Int64? {
    var index = 0
    while index < text.count, [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(text[index]) { index += 1 }
    var negative = false
    if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
      negative = text[index] == UInt8(ascii: "-")
      index += 1
    }
    let digitsStart = index
    var value: Int64 = 0
    var overflow = false
    while index < text.count, text[index] >= 0x30, text[index] <= 0x39 {
      let (times, o1) = value.multipliedReportingOverflow(by: 10)
      let (sum, o2) = times.addingReportingOverflow(Int64(text[index] - 0x30))
      if o1 || o2 { overflow = true } else { value = sum }
      index += 1
    }
    guard index > digitsStart, index == text.count, !overflow else { return nil }
    if negative { value = -value }
    guard value >= min, value <= max else { return nil }
    return value
  }
}

/// The per-line algorithm of sshd 9.2 (spec §1, §2, §9), on bytes.
enum LineClassifier {
  static func classify(_ fullLine: UnsafeBufferPointer<UInt8>) -> (LineKind, KeyEntry?, LineProblem?) {
    // Everything after a NUL is invisible to sshd.
    var end = 0
    while end < fullLine.count, fullLine[end] != 0 { end += 1 }
    let line = UnsafeBufferPointer(rebasing: fullLine[0..<end])
    var start = 0
    while start < end, KeyReader.isBlank(line[start]) { start += 1 }
    if start == end { return (.blank, nil, nil) }
    if line[start] == UInt8(ascii: "#") { return (.comment, nil, nil) }

    // 1st try: the line starts with a key.
    var cursor = start
    let firstError: KeyError
    do {
      let key = try KeyReader.read(line, from: &cursor)
      return (.key, KeyEntry(options: [], key: key, comment: comment(line, from: cursor)), nil)
    } catch {
      firstError = error
    }
    // 2nd try: an options field, blanks, then a key.
    guard let optionsEnd = KeyReader.advancePastOptions(line, from: start) else {
      return (.invalid, nil, .badOptions(.unterminatedQuote, key: nil))
    }
    cursor = optionsEnd
    while cursor < end, KeyReader.isBlank(line[cursor]) { cursor += 1 }
    let keyStart = cursor
    let key: PublicKey
    do {
      key = try KeyReader.read(line, from: &cursor)
    } catch {
      return (
        .invalid, nil, diagnoseNoKey(line, start: start, keyStart: keyStart, first: firstError, second: error)
      )
    }
    let options: [KeyOption]
    do {
      options = try KeyOptions.parse(line, from: start)
    } catch {
      return (.invalid, nil, .badOptions(error, key: key))
    }
    return (.key, KeyEntry(options: options, key: key, comment: comment(line, from: cursor)), nil)
  }

  /// The comment: the rest of the line minus one trailing `\r`, `nil` when empty.
  static func comment(_ line: UnsafeBufferPointer<UInt8>, from start: Int) -> String? {
    var end = line.count
    if end > start, line[end - 1] == 0x0D { end -= 1 }
    guard end > start else { return nil }
    return String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
  }

  private static func isTypeError(_ error: KeyError) -> Bool {
    switch error {
    case .unknownKeyType, .missingType: return true
    default: return false
    }
  }

  /// An actionable reason for a line on which sshd finds no key.
  static func diagnoseNoKey(
    _ line: UnsafeBufferPointer<UInt8>, start: Int, keyStart: Int, first: KeyError, second: KeyError
  ) -> LineProblem {
    // A known key type token with a bad blob (at the start, or after an options field).
    if !isTypeError(first) { return .badKey(first) }
    if !isTypeError(second) { return .badKey(second) }
    let bytes = Array(line[start...])
    let text = String(decoding: bytes, as: UTF8.self)
    if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains($0) }) {
      return .noKey(
        reason:
          "line holds only whitespace sshd does not skip (carriage return, vertical tab or form feed); "
          + "delete it or convert the file to LF line endings")
    }
    if line.starts(with: [0xEF, 0xBB, 0xBF]) {
      return .noKey(reason: "line starts with a UTF-8 byte order mark; save the file without a BOM")
    }
    if let nbsp = findNBSP(bytes) {
      _ = nbsp
      return .noKey(
        reason: "line contains a non-breaking space (U+00A0); only space and TAB separate fields")
    }
    let firstToken = token(line, at: start)
    for (name, _) in KeyAlgorithm.typeNames where name.lowercased() == firstToken.lowercased() {
      return .noKey(
        reason: "key type '\(firstToken)' must be written '\(name)' (key types are case-sensitive)")
    }
    let secondToken = token(line, at: keyStart)
    if KeyAlgorithm.typeNames.contains(where: { $0.0.lowercased() == secondToken.lowercased() }),
      !secondToken.isEmpty
    {
      return .noKey(reason: "key type '\(secondToken)' after the options must be written in lower case")
    }
    if firstToken.hasSuffix(","), !secondToken.isEmpty {
      return .noKey(
        reason: "a space after the comma in '\(firstToken) \(secondToken)' ends the options field; "
          + "remove the space")
    }
    if let comma = firstToken.firstIndex(of: ","),
      let typeName = KeyAlgorithm.typeNames.first(where: { firstToken.hasSuffix("," + $0.0) })?.0
    {
      _ = comma
      return .noKey(
        reason: "key type '\(typeName)' must be separated from the options by a space, not a comma")
    }
    for token in [firstToken, secondToken] where looksLikeKeyType(token) {
      return .noKey(reason: KeyError.unknownKeyType(token).description)
    }
    let preview = text.count > 60 ? String(text.prefix(60)) + "…" : text
    return .noKey(
      reason: "no key type at the start of the line or after an options field; "
        + "expected '[OPTIONS] TYPE BASE64 [COMMENT]', found '\(preview)'")
  }

  private static func looksLikeKeyType(_ token: String) -> Bool {
    token.hasPrefix("ssh-") || token.hasPrefix("ecdsa-") || token.hasPrefix("sk-") || token.hasPrefix("rsa-")
      || token.hasSuffix("@openssh.com")
  }

  private static func findNBSP(_ bytes: [UInt8]) -> Int? {
    guard bytes.count > 1 else { return nil }
    for index in 0..<(bytes.count - 1) where bytes[index] == 0xC2 && bytes[index + 1] == 0xA0 {
      return index
    }
    return nil
  }

  private static func token(_ line: UnsafeBufferPointer<UInt8>, at start: Int) -> String {
    var end = start
    while end < line.count, !KeyReader.isBlank(line[end]) { end += 1 }
    guard start < end else { return "" }
    let shown = min(end, start + 80)
    return String(decoding: UnsafeBufferPointer(rebasing: line[start..<shown]), as: UTF8.self)
  }
}

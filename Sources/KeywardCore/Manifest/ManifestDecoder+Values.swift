import AuthorizedKeys
import Foundation

/// Reading typed values from YAML nodes, by field, with a diagnostic for every mismatch.
extension ManifestDecoder {
  /// A mapping's fields; reports unknown fields (with a suggestion) and missing required ones.
  /// Null counts as an empty mapping.
  mutating func fields(_ node: YAMLNode, of what: String, allowed: [String], required: [String] = [])
    -> ManifestFields?
  {
    let pairs: [YAMLNode.Pair]
    if node.isNull {
      pairs = []
    } else if let mapping = node.mapping {
      pairs = mapping
    } else {
      diagnostics.error(
        .invalidType, "\(what) must be a mapping, not \(node.shapeDescription)", at: location(node))
      return nil
    }
    for pair in pairs {
      let name = pair.key.scalar ?? ""
      if !allowed.contains(name) {
        diagnostics.error(
          .unknownField, "unknown field '\(name)' in \(what)" + Suggestion.hint(for: name, in: allowed),
          at: location(pair.key))
      }
    }
    let result = ManifestFields(pairs: pairs)
    for name in required where result[name] == nil {
      diagnostics.error(.missingField, "\(what) is missing the required field '\(name)'", at: location(node))
    }
    return result
  }

  /// A top-level section that maps names to definitions (`keys`, `hosts`, ...). Null is empty.
  mutating func section(_ node: YAMLNode, _ name: String) -> [YAMLNode.Pair]? {
    if node.isNull { return [] }
    guard let pairs = node.mapping else {
      diagnostics.error(
        .invalidType, "'\(name)' must be a mapping of names, not \(node.shapeDescription)", at: location(node)
      )
      return nil
    }
    return pairs
  }

  /// A list; null is an empty list.
  mutating func list(_ node: YAMLNode, _ what: String) -> [YAMLNode]? {
    if node.isNull { return [] }
    guard let items = node.sequence else {
      diagnostics.error(
        .invalidType, "\(what) must be a list, not \(node.shapeDescription)", at: location(node))
      return nil
    }
    return items
  }

  /// Text (any scalar style, never null).
  mutating func text(_ node: YAMLNode, _ what: String) -> String? {
    guard let value = node.scalar, !node.isNull else {
      diagnostics.error(
        .invalidType, "\(what) must be text, not \(node.shapeDescription)", at: location(node))
      return nil
    }
    return value
  }

  /// A boolean: plain `true` or `false` only.
  mutating func bool(_ node: YAMLNode, _ what: String) -> Bool? {
    if node.isPlainScalar, let value = node.scalar {
      if value == "true" { return true }
      if value == "false" { return false }
      if Self.yaml11Booleans.contains(value.lowercased()) {
        diagnostics.error(
          .ambiguousBoolean, "'\(value)' is a YAML 1.1 boolean spelling; write true or false for \(what)",
          at: location(node))
        return nil
      }
    }
    let quoted = node.scalar != nil && !node.isPlainScalar ? " (remove the quotes)" : ""
    diagnostics.error(
      .invalidType, "\(what) must be true or false, not \(node.shapeDescription)\(quoted)", at: location(node)
    )
    return nil
  }

  /// A non-negative decimal number in `range`, written plain.
  mutating func integer(_ node: YAMLNode, _ what: String, in range: ClosedRange<Int>) -> Int? {
    guard let value = node.scalar, node.isPlainScalar, !node.isNull,
      value.allSatisfy({ $0.isASCII && $0.isNumber })
    else {
      let quoted = node.scalar != nil && !node.isPlainScalar ? " (remove the quotes)" : ""
      diagnostics.error(
        .invalidType, "\(what) must be a whole number, not \(node.shapeDescription)\(quoted)",
        at: location(node))
      return nil
    }
    if value.count > 1 && value.hasPrefix("0") {
      diagnostics.error(
        .invalidValue,
        "\(what) must be written without leading zeros ('\(value)' reads as octal in YAML 1.1)",
        at: location(node))
      return nil
    }
    guard let number = Int(value), range.contains(number) else {
      let bounds =
        range.upperBound == Int.max
        ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
      diagnostics.error(.invalidValue, "\(what) must be \(bounds), not '\(value)'", at: location(node))
      return nil
    }
    return number
  }

  /// A name or a list of names, each with its location.
  mutating func names(_ node: YAMLNode, _ what: String, allowEmpty: Bool = false) -> [Located<String>]? {
    if let value = node.scalar, !node.isNull {
      return [Located(value, at: location(node))]
    }
    guard let items = node.sequence else {
      diagnostics.error(
        .invalidType, "\(what) must be a name or a list of names, not \(node.shapeDescription)",
        at: location(node))
      return nil
    }
    if items.isEmpty && !allowEmpty {
      diagnostics.error(.invalidValue, "\(what) is an empty list", at: location(node))
    }
    var names: [Located<String>] = []
    for item in items {
      guard let value = item.scalar, !item.isNull else {
        diagnostics.error(
          .invalidType, "\(what) must list names, not \(item.shapeDescription)", at: location(item))
        continue
      }
      names.append(Located(value, at: location(item)))
    }
    return names
  }

  /// A key, group, host or rule name (the mapping key node): letters, digits and `._@+:-`,
  /// not starting with a dash.
  mutating func checkedName(_ node: YAMLNode, kind: String) -> String? {
    guard let name = node.scalar else { return nil }
    let allowed =
      name.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
          UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"),
          UInt8(ascii: "+"), UInt8(ascii: ":"), UInt8(ascii: "-"):
          return true
        default:
          return byte >= 0x80
        }
      } && name.unicodeScalars.allSatisfy { $0.isASCII || $0.properties.isAlphabetic }
    guard !name.isEmpty, allowed, !name.hasPrefix("-") else {
      diagnostics.error(
        .invalidName,
        "\(kind) '\(name)' may hold only letters, digits and '._@+:-', and must not start with '-'",
        at: location(node))
      return nil
    }
    return name
  }

  /// Checks a Unix user name (POSIX portable: letters, digits, `._-`, not starting with `-`).
  mutating func checkUser(_ name: String, at location: SourceLocation) -> Bool {
    let ok =
      !name.isEmpty && name.count <= 32 && !name.hasPrefix("-") && name != "." && name != ".."
      && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-$".contains($0)) }
    if !ok {
      diagnostics.error(
        .invalidName,
        "user name '\(name)' is not a valid user name (letters, digits, '._-', at most 32; not '.' or '..')",
        at: location)
    }
    return ok
  }

  mutating func userName(_ node: YAMLNode, _ what: String) -> String? {
    guard let user = text(node, what), checkUser(user, at: location(node)) else { return nil }
    return user
  }

  mutating func mode(_ node: YAMLNode, _ what: String) -> ManagementMode? {
    guard let value = text(node, what) else { return nil }
    guard let mode = ManagementMode(rawValue: value) else {
      let names = ManagementMode.allCases.map(\.rawValue)
      diagnostics.error(
        .invalidValue,
        "\(what) must be 'exclusive' or 'additive', not '\(value)'" + Suggestion.hint(for: value, in: names),
        at: location(node))
      return nil
    }
    return mode
  }

  /// `auto`, `libssh2` or `openssh`.
  mutating func transportKind(_ node: YAMLNode, _ what: String) -> TransportKind? {
    guard let value = text(node, what) else { return nil }
    guard let kind = TransportKind(rawValue: value) else {
      let names = TransportKind.allCases.map(\.rawValue)
      diagnostics.error(
        .invalidValue,
        "\(what) must be 'auto', 'libssh2' or 'openssh', not '\(value)'"
          + Suggestion.hint(for: value, in: names),
        at: location(node))
      return nil
    }
    return kind
  }

  /// A file path for authorized_keys: relative to the user's home or absolute; `%u`, `%h`, `%%`.
  mutating func path(_ node: YAMLNode, _ what: String) -> String? {
    guard let value = text(node, what) else { return nil }
    var problem: String?
    if value.isEmpty {
      problem = "\(what) is empty"
    } else if value.contains(where: { $0.isNewline || $0 == "\0" }) {
      problem = "\(what) must be one line"
    } else {
      var scalars = value.unicodeScalars.makeIterator()
      while let scalar = scalars.next() {
        guard scalar == "%" else { continue }
        let next = scalars.next()
        if next != "u" && next != "h" && next != "%" {
          problem = "\(what) uses an unknown token '%\(next.map(String.init) ?? "")'; known: %u, %h, %%"
        }
      }
      if problem == nil && value.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
        problem = "\(what) has a '..' component; keyward never manages a path through '..'"
      }
    }
    if let problem {
      diagnostics.error(.invalidValue, problem, at: location(node))
      return nil
    }
    return value
  }

  /// A `YYYY-MM-DD` date: the start of that day in UTC, and its sshd `expiry-time` form
  /// (`YYYYMMDDZ`: with the `Z`, sshd reads it as UTC too, whatever the host's time zone).
  mutating func date(_ node: YAMLNode, _ what: String) -> (Date, String)? {
    guard let value = text(node, what) else { return nil }
    let parts = value.split(separator: "-", omittingEmptySubsequences: false)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    if parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
      let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
      value.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }), (1970...9999).contains(year)
    {
      let components = DateComponents(year: year, month: month, day: day)
      if components.isValidDate(in: calendar), let date = calendar.date(from: components) {
        return (date, parts.joined() + "Z")
      }
    }
    diagnostics.error(
      .invalidValue, "\(what) must be a date written YYYY-MM-DD, not '\(value)'", at: location(node))
    return nil
  }
}

import AuthorizedKeys

/// `options:`: a structured mapping (`{ restrict: true, from: [10.0.0.0/8] }`) or sshd's own
/// text (`'restrict,command="..."'`), checked against the options sshd knows.
extension ManifestDecoder {
  mutating func options(_ node: YAMLNode, _ owner: String) -> [KeyOption]? {
    if node.isNull { return [] }
    if let text = node.scalar {
      return rawOptions(text, owner, at: location(node))
    }
    guard let pairs = node.mapping else {
      diagnostics.error(
        .invalidType, "'options' of \(owner) must be a mapping or options text, not \(node.shapeDescription)",
        at: location(node))
      return nil
    }
    var options: [KeyOption] = []
    for pair in pairs {
      let name = pair.key.scalar ?? ""
      guard let kind = KeyOptionTable.kinds[name] else {
        reportUnknownOption(name, owner, at: location(pair.key))
        continue
      }
      let what = "option '\(name)' of \(owner)"
      let value = pair.value
      switch kind {
      case .flag:
        if bool(value, what) == true { options.append(KeyOption(name: name)) }
      case .value:
        if let text = optionText(value, what) { options.append(KeyOption(name: name, value: text)) }
      case .commaList, .repeated:
        guard let items = names(value, what) else { continue }
        var texts: [String] = []
        for item in items {
          if let text = checkedOptionText(item.value, what, at: item.location) { texts.append(text) }
        }
        if kind == .commaList {
          options.append(KeyOption(name: name, value: texts.joined(separator: ",")))
        } else {
          options += texts.map { KeyOption(name: name, value: $0) }
        }
      case .environment:
        if let pairs = value.mapping {
          for pair in pairs {
            guard let variable = pair.key.scalar,
              let text = optionText(pair.value, "'\(variable)' in \(what)")
            else { continue }
            options.append(KeyOption(name: name, value: "\(variable)=\(text)"))
          }
        } else if let items = names(value, what) {
          for item in items {
            guard item.value.contains("=") else {
              diagnostics.error(
                .invalidOption, "\(what) must be written NAME=value, not '\(item.value)'", at: item.location)
              continue
            }
            if let text = checkedOptionText(item.value, what, at: item.location) {
              options.append(KeyOption(name: name, value: text))
            }
          }
        }
      }
    }
    if let expiry = options.first(where: { $0.name == "expiry-time" }) {
      checkExpiryTime(expiry.value ?? "", owner, at: location(node))
    }
    if let problem = KeyCodec.check(options) {
      diagnostics.error(
        .invalidOption, "the options of \(owner) would not work in sshd: \(problem)", at: location(node))
      return nil
    }
    return options
  }

  private mutating func rawOptions(_ text: String, _ owner: String, at location: SourceLocation)
    -> [KeyOption]?
  {
    let parsed: [KeyOption]
    do {
      parsed = try KeyCodec.parseOptions(text)
    } catch {
      diagnostics.error(
        .invalidOption, "the options text of \(owner) is not valid sshd options: \(KeyCodec.describe(error))",
        at: location)
      return nil
    }
    var valid: [KeyOption] = []
    for option in parsed {
      guard let kind = KeyOptionTable.kinds[option.name.lowercased()] else {
        reportUnknownOption(option.name, owner, at: location)
        continue
      }
      if (kind == .flag) != (option.value == nil) {
        let expectation = kind == .flag ? "takes no value" : "needs a value (\(option.name)=\"...\")"
        diagnostics.error(.invalidOption, "option '\(option.name)' of \(owner) \(expectation)", at: location)
        continue
      }
      if let value = option.value,
        checkedOptionText(value, "option '\(option.name)' of \(owner)", at: location) == nil
      {
        continue
      }
      if option.name.lowercased() == "expiry-time" {
        checkExpiryTime(option.value ?? "", owner, at: location)
      }
      valid.append(option)
    }
    return valid
  }

  private mutating func reportUnknownOption(_ name: String, _ owner: String, at location: SourceLocation) {
    let hyphenated = name.replacingOccurrences(of: "_", with: "-")
    let suggestion =
      KeyOptionTable.kinds[hyphenated] != nil
      ? "; did you mean '\(hyphenated)'?" : Suggestion.hint(for: name, in: KeyOptionTable.kinds.keys.sorted())
    diagnostics.error(.invalidOption, "unknown option '\(name)' in \(owner)\(suggestion)", at: location)
  }

  private mutating func optionText(_ node: YAMLNode, _ what: String) -> String? {
    guard let value = text(node, what) else { return nil }
    return checkedOptionText(value, what, at: location(node))
  }

  /// Option values must fit on one authorized_keys line.
  private mutating func checkedOptionText(_ value: String, _ what: String, at location: SourceLocation)
    -> String?
  {
    if value.contains(where: { $0.isNewline || $0 == "\0" }) {
      diagnostics.error(.invalidOption, "\(what) must be one line of text", at: location)
      return nil
    }
    return value
  }

  /// sshd accepts `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]`.
  private mutating func checkExpiryTime(_ value: String, _ owner: String, at location: SourceLocation) {
    let digits = value.hasSuffix("Z") || value.hasSuffix("z") ? String(value.dropLast()) : value
    if ![8, 12, 14].contains(digits.count) || !digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
      diagnostics.error(
        .invalidOption,
        "option 'expiry-time' of \(owner) must be YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z], not '\(value)'",
        at: location)
    }
  }
}

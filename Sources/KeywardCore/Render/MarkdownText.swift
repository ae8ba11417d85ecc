import AuthorizedKeys

/// Text for a Markdown table cell or line in a PR comment: `Echo` first (control characters,
/// length), then table and HTML characters escaped, backticks and line breaks neutralised.
enum MarkdownText {
  static func escape(_ text: String) -> String {
    var out = ""
    for ch in Echo.message(text) {
      switch ch {
      case "|": out += "\\|"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "`": out += "'"
      case "\n", "\r": out += " "
      default: out.append(ch)
      }
    }
    return out
  }
}

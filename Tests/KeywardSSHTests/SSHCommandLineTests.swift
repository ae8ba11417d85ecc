import Foundation
import KeywardTestSupport
import Testing

@testable import KeywardOpenSSH

/// The words keyward puts into a jump host's `ProxyCommand`, read back by the real programs that
/// read them: `/bin/sh` must see each word as it was, and `ssh` 9.2's option parser (which
/// checks a ProxyCommand's quotes by its own rules) must accept the line and keep the value.
@Suite(.tags(.processes))
struct SSHCommandLineTests {
  /// Words with every printable ASCII character, spaces, quotes, backslashes, `%`, UTF-8.
  static func generatedWords(count: Int) -> [String] {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array((32...126).map { Character(UnicodeScalar($0)) }) + ["é", "\t"]
    var words = ["", "'", "\"", "\\", "it's 100% odd", "a\\'b", "--", "-o", "$(id)", "`id`", "*", "~"]
    while words.count < count {
      let length = Int.random(in: 1...12, using: &generator)
      words.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
    }
    return words
  }

  @Test("shell words: /bin/sh reads every quoted word back as it was")
  func shellRoundTrip() throws {
    let words = Self.generatedWords(count: 400)
    let script = "printf '%s\\0' " + words.map(SSHCommandLine.shellQuoted).joined(separator: " ")
    let result = try Fleet.run("/bin/sh", ["-c", script])
    #expect(result.status == 0)
    let back = result.output.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(
      String.init)
    #expect(back == words)
    print("shell-quoted words read back by /bin/sh: \(back.count) of \(words.count)")
  }

  @Test("ssh accepts every ProxyCommand made of quoted words and keeps it as written")
  func sshAcceptsProxyCommands() throws {
    let words = Self.generatedWords(count: 120).filter { !$0.contains("\t") }
    var accepted = 0
    for chunk in stride(from: 0, to: words.count, by: 6) {
      let line = words[chunk..<min(chunk + 6, words.count)].map {
        SSHCommandLine.shellQuoted($0).replacingOccurrences(of: "%", with: "%%")
      }.joined(separator: " ")
      let result = try Fleet.run(
        "/usr/bin/ssh", ["-G", "-F", "/dev/null", "-o", "ProxyCommand=exec " + line, "keyward-test-host"])
      #expect(result.status == 0, "\(line): \(result.output)")
      #expect(result.output.contains("proxycommand exec " + line), "\(line)")
      if result.status == 0 { accepted += 1 }
    }
    print("ProxyCommand lines accepted by ssh -G: \(accepted)")
  }

  @Test("option values: ssh reads a quoted path back as one word")
  func optionValues() throws {
    var checked = 0
    for path in ["/tmp/plain", "/tmp/it's odd/known hosts", "/tmp/a\"b\\c d", "/tmp/tab\there"] {
      let result = try Fleet.run(
        "/usr/bin/ssh",
        ["-G", "-F", "/dev/null", "-o", "UserKnownHostsFile=" + SSHCommandLine.optionValue(path), "x"])
      #expect(result.output.contains("userknownhostsfile \(path)\n"), "\(path): \(result.output)")
      checked += 1
    }
    print("option values read back by ssh -G: \(checked)")
  }
}

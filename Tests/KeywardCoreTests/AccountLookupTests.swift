import KeywardCore
import Testing

/// The one account lookup both SSH transports run (alone, or folded into the sshd probe).
struct AccountLookupTests {
  @Test func commandKeepsValidUnknownNamesOnce() throws {
    let command = try #require(
      AccountLookup.command(["bob", "alice", "-x", "a b", "bob", "root"], probeHelpers: false) {
        $0 == "root"
      })
    #expect(command.users == ["bob", "alice"])
    #expect(command.text == "getent passwd bob alice; echo \"keyward-getent $?\"")
    #expect(!command.probesHelpers)
    #expect(AccountLookup.command(["root", "$(id)"], probeHelpers: true) { $0 == "root" } == nil)
    let probing = try #require(AccountLookup.command(["alice"], probeHelpers: true) { _ in false })
    #expect(probing.text.hasSuffix(ActAsUser.probeScript))
  }

  static let passwd = "alice:x:2001:2001::/home/alice:/bin/bash\nmallory:x:0:0::/root:/bin/bash\n"

  @Test(
    arguments: [
      // status, accounts found, or the error's start
      ("keyward-getent 0", ["alice"], nil),
      ("keyward-getent 2", ["alice"], nil),  // some users missing: not an error
      ("keyward-getent 1", [], "'getent passwd' failed with status 1 as 'root'"),
      ("", [], "'getent passwd' failed with status 127 as 'root'"),  // the marker never came
    ] as [(String, [String], String?)])
  func read(status: String, found: [String], failure: String?) throws {
    let command = try #require(AccountLookup.command(["alice", "bob"], probeHelpers: true) { _ in false })
    let output =
      Self.passwd + status
      + "\nkeyward-sftp-server /usr/lib/openssh/sftp-server\nkeyward-setpriv /usr/bin/setpriv\n"
    do {
      let answer = try AccountLookup.read(
        output, stderr: "no\u{1B}[2J", command: command, host: "h", login: "root")
      #expect(failure == nil)
      // Only the users asked about: a line for another name is not taken.
      #expect(answer.accounts.keys.sorted() == found)
      #expect(answer.accounts["alice"]?.home == "/home/alice")
      #expect(answer.helpers?.setpriv == "/usr/bin/setpriv")
    } catch {
      let expected = try #require(failure, "unexpected \(error)")
      #expect(error.code == .getentFailed)
      #expect(error.message.hasPrefix(expected), "\(error.message)")
      #expect(!error.message.contains("\u{1B}"), "control characters are never echoed")
    }
  }
}

import KeywardCore
import Testing

/// The one `passwd(5)` line reader, behind `ROOT/etc/passwd`, `getent passwd` on a host and the
/// sshd probe.
@Suite("PasswdEntry")
struct PasswdEntryTests {
  @Test(arguments: [
    (
      "alice:x:2001:2002:Alice A:/home/alice:/bin/bash",
      PasswdEntry?.some(
        PasswdEntry(name: "alice", uid: 2001, gid: 2002, home: "/home/alice", shell: "/bin/bash"))
    ),
    ("svc:*:998:998::/:", PasswdEntry(name: "svc", uid: 998, gid: 998, home: "/", shell: "")),
    ("x:x:1:1:g:/h:/s:extra", PasswdEntry(name: "x", uid: 1, gid: 1, home: "/h", shell: "/s")),
    ("#alice:x:2001:2001::/home/alice:/bin/sh", nil),
    ("alice:x:2001:2001::/home/alice", nil),
    ("alice:x:-1:2001::/home/alice:/bin/sh", nil),
    ("alice:x:2001:4294967296::/home/alice:/bin/sh", nil),
    ("", nil),
  ])
  func readsOneLine(line: String, expected: PasswdEntry?) {
    #expect(PasswdEntry(line: line) == expected)
  }

  @Test func theFirstEntryOfANameWins() {
    let entries = PasswdEntry.parse(
      "bob:x:1:1::/one:/bin/sh\n# note\nbob:x:2:2::/two:/bin/sh\ncarol:x:3:3::/c:\n")
    #expect(entries.keys.sorted() == ["bob", "carol"])
    #expect(entries["bob"]?.home == "/one")
  }
}

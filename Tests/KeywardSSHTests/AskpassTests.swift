import Foundation
import KeywardCore
import KeywardTestSupport
import Testing

@testable import KeywardOpenSSH

#if canImport(Glibc)
  import Glibc
#endif

/// keyward as `ssh`'s askpass: only OpenSSH's passphrase prompt is answered, every other prompt
/// (host-key confirmation, password, PIN) and every request without the run's token is refused;
/// proven through the real `keyward` binary started as askpass against a real server.
struct AskpassTests {
  /// Prompts as OpenSSH 9.2's ssh prints them, and the key file keyward reads from each.
  static let prompts: [(prompt: String, file: String?)] = [
    ("Enter passphrase for key '/home/ann/.ssh/id_rsa': ", "/home/ann/.ssh/id_rsa"),
    ("Enter passphrase for key '/tmp/a key with spaces': ", "/tmp/a key with spaces"),
    ("Enter passphrase for key '/tmp/it's': ", "/tmp/it's"),
    ("Enter passphrase for key '/k':", "/k"),
    ("Enter passphrase for key '': ", nil),
    ("Enter passphrase for key '/k\n': ", nil),
    ("Enter passphrase for key '/k\u{1b}[2J': ", nil),
    ("Are you sure you want to continue connecting (yes/no/[fingerprint])? ", nil),
    ("Are you sure you want to continue connecting (yes/no)? ", nil),
    ("Please type 'yes', 'no' or the fingerprint: ", nil),
    ("Please type 'yes' or 'no': ", nil),
    ("alice@192.0.2.1's password: ", nil),
    ("Enter PIN for ECDSA-SK key /home/ann/.ssh/id_ecdsa_sk: ", nil),
    ("Enter PIN for 'token': ", nil),
    ("(alice@host) Password: ", nil),
    ("Enter passphrase for key", nil),
    ("enter passphrase for key '/k': ", nil),
    ("Confirm user presence for key ED25519-SK SHA256:x", nil),
  ]

  @Test("the key file of OpenSSH's passphrase prompt; nil for every other prompt", arguments: prompts)
  func keyFile(_ row: (prompt: String, file: String?)) {
    #expect(AskpassServer.keyFile(inPrompt: row.prompt) == row.file)
  }

  @Test(
    "SSH_ASKPASS_REQUIRE=force is relied on only from OpenSSH 8.4 (an older ssh would prompt on a terminal)",
    arguments: [
      ("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026", true), ("OpenSSH_8.4p1", true),
      ("OpenSSH_8.3p1 Ubuntu-1", false), ("OpenSSH_7.4p1, OpenSSL 1.0.2k-fips", false),
      ("OpenSSH_10.0p2 Debian-5", true), ("OpenSSH_for_Windows_8.1p1", false), ("", false),
      ("ssh: not OpenSSH", false),
    ])
  func forceSupport(_ row: (String, Bool)) {
    #expect(AskpassServer.honoursForce(version: row.0) == row.1)
  }

  @Test("the system ssh honours SSH_ASKPASS_REQUIRE=force (Debian 12: 9.2)")
  func systemSSH() {
    #expect(AskpassServer.isForcedBy(sshPath: "/usr/bin/ssh"))
    #expect(!AskpassServer.isForcedBy(sshPath: "/nonexistent/ssh"))
  }

  @Test("a passphrase ssh would cut at a line break or NUL is not sent")
  func sendable() {
    #expect(AskpassServer.canSend("correct horse battery staple"))
    #expect(AskpassServer.canSend(""))
    #expect(!AskpassServer.canSend("a\nb"))
    #expect(!AskpassServer.canSend("a\rb"))
    #expect(!AskpassServer.canSend("a\u{0}b"))
  }

  /// Starts the keyward binary as ssh would start its askpass.
  static func askpass(_ prompt: String, environment: [String: String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = KeywardProcess.executable
    process.arguments = [prompt]
    process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test(
    "the keyward binary as askpass: the passphrase for a key prompt, exit 1 for any other prompt, a wrong token, a notification, or no run"
  )
  func binaryAsAskpass() throws {
    let root = try TemporaryRoot()
    let secret = "s3cret passphrase 'with' quotes"
    let server = try AskpassServer(directory: root.path, program: "/unused", host: "test") { file in
      file == "/keys/id_rsa" ? secret : nil
    }
    defer { server.close() }
    let environment = Dictionary(
      uniqueKeysWithValues: server.environment.map { entry in
        let parts = entry.split(separator: "=", maxSplits: 1)
        return (String(parts[0]), String(parts[1]))
      })
    #expect(environment["SSH_ASKPASS_REQUIRE"] == "force")
    #expect(!server.environment.contains { $0.contains(secret) })
    var cases = 0
    func check(_ prompt: String, _ extra: [String: String] = [:], status: Int32, output: String) throws {
      let (got, text) = try Self.askpass(prompt, environment: environment.merging(extra) { $1 })
      #expect(got == status, "\(prompt)")
      #expect(text == output, "\(prompt)")
      cases += 1
    }
    try check("Enter passphrase for key '/keys/id_rsa': ", status: 0, output: secret + "\n")
    try check("Enter passphrase for key '/keys/other': ", status: 1, output: "")
    try check("Are you sure you want to continue connecting (yes/no/[fingerprint])? ", status: 1, output: "")
    try check("Please type 'yes', 'no' or the fingerprint: ", status: 1, output: "")
    try check("alice@127.0.0.1's password: ", status: 1, output: "")
    try check("Enter PIN for ECDSA-SK key /keys/sk: ", status: 1, output: "")
    try check(
      "Enter passphrase for key '/keys/id_rsa': ", ["SSH_ASKPASS_PROMPT": "none"], status: 1, output: "")
    try check(
      "Enter passphrase for key '/keys/id_rsa': ", [AskpassServer.tokenVariable: "0-0-0-0"], status: 1,
      output: "")
    try check(
      "Enter passphrase for key '/keys/id_rsa': ", [AskpassServer.socketVariable: root.path + "/none"],
      status: 1, output: "")
    // Counted by the askpass's parent (this process): only passphrase prompts with the token
    // (not the notification, the wrong token or the missing socket).
    let asked = server.prompts(by: getpid())
    #expect(asked == ["/keys/id_rsa": 1, "/keys/other": 1], "\(asked)")
    server.close()
    #expect(!FileManager.default.fileExists(atPath: server.socketPath))
    try check("Enter passphrase for key '/keys/id_rsa': ", status: 1, output: "")
    print("askpass through the keyward binary: \(cases) cases")
  }

  @Test(
    "ssh's argv and environment: BatchMode=yes without a passphrase; with one, BatchMode=no, no passwords, the forced askpass, and the passphrase in neither"
  )
  func commandLines() throws {
    let root = try TemporaryRoot()
    let secret = "argv-env-secret-41"
    // A manifest jump: the hop's ssh (in the ProxyCommand) gets the same options.
    let hosts = ["web1": HostSpec(name: "web1", jump: "bastion")]
    let plain = SSHCommandLine(settings: OpenSSHSettings(agentSocket: nil), alias: "web1", hosts: hosts)
    let settings = OpenSSHSettings(
      agentSocket: nil, passphrase: { _ in secret }, askpassProgram: "/opt/keyward")
    let server = try AskpassServer(
      directory: root.path, program: settings.askpassProgram, host: "web1", answer: settings.passphrase!)
    defer { server.close() }
    var asking = SSHCommandLine(settings: settings, alias: "web1", hosts: hosts)
    asking.askpass = server
    var vectors = 0
    for (commandLine, askpass) in [(plain, false), (asking, true)] {
      let all = [
        commandLine.master(user: "root", socket: "/s", log: "/l"),
        commandLine.exec(user: "root", socket: "/s", command: "true"),
        commandLine.exit(user: "root", socket: "/s"), commandLine.freshLogin(user: "alice"),
      ]
      for argv in all {
        let options = Set(zip(argv, argv.dropFirst()).filter { $0.0 == "-o" }.map(\.1))
        #expect(options.contains("BatchMode=yes") == !askpass, "\(argv)")
        #expect(options.contains("BatchMode=no") == askpass, "\(argv)")
        #expect(options.contains("PasswordAuthentication=no") == askpass, "\(argv)")
        #expect(options.contains("KbdInteractiveAuthentication=no") == askpass, "\(argv)")
        #expect(!options.contains { $0.hasPrefix("StrictHostKeyChecking") }, "\(argv)")
        let proxy = try #require(options.first { $0.hasPrefix("ProxyCommand=") }, "\(argv)")
        #expect(proxy.contains("BatchMode=yes") == !askpass, "\(proxy)")
        #expect(
          (proxy.contains("BatchMode=no") && proxy.contains("PasswordAuthentication=no")) == askpass,
          "\(proxy)"
        )
        #expect(!argv.contains { $0.contains(secret) })
        vectors += 1
      }
      let environment = commandLine.environment
      #expect(environment.contains("SSH_ASKPASS_REQUIRE=force") == askpass)
      #expect(environment.contains("SSH_ASKPASS=/opt/keyward") == askpass)
      #expect(environment.contains { $0.hasPrefix("KEYWARD_ASKPASS_TOKEN=") } == askpass)
      #expect(!environment.contains { $0.contains(secret) || $0.hasPrefix("KEYWARD_SSH_PASSPHRASE") })
    }
    print("ssh command lines checked: \(vectors) argument vectors, 2 environments")
  }
}

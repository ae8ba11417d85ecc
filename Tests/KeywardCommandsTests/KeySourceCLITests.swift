import Foundation
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `keyward lock`, `plan --refresh-sources` and applies from the lock, end to end through the
/// real binary, against a local HTTP server on loopback standing in for GitHub and GitLab
/// (base URLs pointed at it), applying to a `--root` tree.
@Suite("Remote key sources (keyward lock)", .serialized, .tags(.processes))
final class KeySourceCLITests {
  let root: TemporaryRoot
  let server: KeyServer
  let manifests: String
  var lockPath: String { manifests + "/keyward.lock" }

  init() throws {
    root = try TemporaryRoot()
    let web = root.path + "/web"
    try FileManager.default.createDirectory(atPath: web, withIntermediateDirectories: true)
    server = try KeyServer(directory: web)
    manifests = root.path + "/manifests"
    try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
    try Self.manifest(base: server.baseURL).write(
      toFile: manifests + "/keys.yaml", atomically: true, encoding: .utf8)
  }

  deinit { server.stop() }

  static func manifest(base: String) -> String {
    """
    version: 1
    keys:
      alice: { github: alice, base_url: '\(base)' }
      bob:
        gitlab: bob
        base_url: '\(base)/gitlab'
      ops: { url: '\(base)/ops.keys', types: [ssh-ed25519], comment: ops-team }
    hosts:
      img: {}
    access:
      - hosts: [img]
        users: [alice]
        keys: [alice, ops]
      - hosts: [img]
        users: [bob]
        keys: [bob]

    """
  }

  static func bare(_ line: String) -> String { line.split(separator: " ").prefix(2).joined(separator: " ") }

  static let upstream: [String: KeyServer.Route] = [
    "/alice.keys": .keys([bare(TestKeys.alice)]),
    "/gitlab/bob.keys": .keys([bare(TestKeys.bob)]),
    // The ECDSA key is dropped by 'types: [ssh-ed25519]'.
    "/ops.keys": .keys([TestKeys.carol, TestKeys.ci]),
  ]

  func keyward(_ args: [String]) throws -> KeywardProcess.Result {
    try KeywardProcess.run(args)
  }

  func onRoot(_ args: [String]) throws -> KeywardProcess.Result {
    try KeywardProcess.run(args + ["--local", "--root", root.path, "--host", "img"])
  }

  func fingerprint(_ line: String) -> String { TestKeys.key(line).fingerprint }

  func lockedAndApplied() throws {
    try server.set(Self.upstream)
    let lock = try keyward(["lock", manifests])
    #expect(lock.status == 0, "\(lock.stdout)\(lock.stderr)")
    let apply = try onRoot(["apply", manifests, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
  }

  @Test func lockPinsEveryKeyThenPlanAndApplyWorkWithTheServerStopped() throws {
    try server.set(Self.upstream)
    let lock = try keyward(["lock", manifests])
    #expect(lock.status == 0, "\(lock.stdout)\(lock.stderr)")
    #expect(lock.stdout.contains("Locked 3 sources (4 keys) in \(lockPath)"), "\(lock.stdout)")
    let text = try String(contentsOfFile: lockPath, encoding: .utf8)
    for key in [TestKeys.alice, TestKeys.bob, TestKeys.carol, TestKeys.ci] {
      #expect(text.contains(fingerprint(key)))
    }
    #expect(text.contains("\"url\" : \"\(server.baseURL)/gitlab/bob.keys\""))
    #expect(text.contains("\"fetched_at\""))
    let requests = server.requests.count
    #expect(requests == 3)

    server.stop()
    let plan = try onRoot(["plan", manifests, "--detailed-exitcode"])
    #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
    #expect(plan.stdout.contains("Plan: 3 to add"), "\(plan.stdout)")
    let apply = try onRoot(["apply", manifests, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    #expect(
      root.readKeys("alice")
        == "\(Self.bare(TestKeys.alice)) github:alice\n\(Self.bare(TestKeys.carol)) ops-team\n")
    #expect(root.readKeys("bob") == "\(Self.bare(TestKeys.bob)) gitlab:bob\n")
    #expect(server.requests.count == requests, "plan or apply fetched a source")
  }

  @Test func refreshSourcesShowsUpstreamChangesAsItsOwnSection() throws {
    try lockedAndApplied()
    let lockBefore = try Data(contentsOf: URL(fileURLWithPath: lockPath))
    var changed = Self.upstream
    changed["/alice.keys"] = .keys([Self.bare(TestKeys.dave)])
    try server.set(changed)

    let quiet = try onRoot(["plan", manifests, "--detailed-exitcode"])
    #expect(quiet.status == 0, "\(quiet.stdout)\(quiet.stderr)")
    #expect(!quiet.stdout.contains("Upstream"))

    let plan = try onRoot(["plan", manifests, "--refresh-sources", "--detailed-exitcode"])
    #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
    #expect(plan.stdout.contains("No changes."), "\(plan.stdout)")
    #expect(plan.stdout.contains("Upstream key sources (compared with keyward.lock):"))
    #expect(
      plan.stdout.contains("github: alice (\(server.baseURL)): 1 new, 1 vanished upstream"), "\(plan.stdout)")
    #expect(plan.stdout.contains("+ ssh-ed25519 \(fingerprint(TestKeys.dave)) (new upstream)"))
    #expect(plan.stdout.contains("- ssh-ed25519 \(fingerprint(TestKeys.alice)) (vanished upstream)"))
    #expect(plan.stdout.contains("gitlab: bob (\(server.baseURL)/gitlab): unchanged"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: lockPath)) == lockBefore)

    let relock = try keyward(["lock", manifests])
    #expect(relock.status == 0)
    #expect(
      relock.stdout.contains("github: alice (\(server.baseURL)): 1 key (+1 new, -1 gone)"), "\(relock.stdout)"
    )
    let apply = try onRoot(["apply", manifests, "--auto-approve"])
    #expect(apply.status == 0)
    let alice = root.read("alice") ?? ""
    #expect(alice.contains("\(Self.bare(TestKeys.dave)) github:alice\n"), "\(alice)")
    #expect(!alice.contains(Self.bare(TestKeys.alice)))
  }

  struct Failure: Sendable, CustomStringConvertible {
    var name: String
    var route: KeyServer.Route
    var message: String
    var description: String { name }
  }

  static let failures: [Failure] = [
    Failure(name: "HTTP 500", route: .init(status: 500, body: "oops"), message: "HTTP status 500"),
    Failure(
      name: "HTTP 404", route: .init(status: 404, body: "Not Found"),
      message: "HTTP status 404 (no such user?)"),
    Failure(
      name: "HTTP 429", route: .init(status: 429, body: "slow down"),
      message: "HTTP status 429 (rate limited?)"),
    Failure(
      name: "body cut short", route: .init(body: bare(TestKeys.dave) + "\n", mode: "truncate"),
      message: "cut short"),
    Failure(
      name: "timeout", route: .init(body: bare(TestKeys.dave) + "\n", mode: "slow"), message: "timed out"),
    Failure(name: "empty body", route: .init(body: ""), message: "it serves no key"),
    Failure(
      name: "HTML instead of keys", route: .init(body: "<html>rate limit exceeded</html>\n"),
      message: "line 1 is not an OpenSSH public key"),
    Failure(
      name: "truncated last key",
      route: .init(body: bare(TestKeys.dave) + "\n" + String(bare(TestKeys.bob).dropLast(9))),
      message: "line 2 is not an OpenSSH public key"),
    Failure(
      name: "escape sequences", route: .init(body: "\u{1b}]0;pwned\u{07}\u{1b}[2J\n"), message: "\\u{1b}"),
  ]

  @Test(arguments: failures)
  func aFailedFetchChangesNeitherTheLockNorAnyTarget(_ failure: Failure) throws {
    try lockedAndApplied()
    let lockBefore = try Data(contentsOf: URL(fileURLWithPath: lockPath))
    let alice = root.read("alice")
    let bob = root.read("bob")
    var broken = Self.upstream
    broken["/alice.keys"] = failure.route
    try server.set(broken)

    let lock = try keyward(["lock", manifests, "--timeout", "5"])
    #expect(lock.status == 1, "\(lock.stdout)\(lock.stderr)")
    #expect(lock.stderr.contains("fetching 'github: alice (\(server.baseURL))'"), "\(lock.stderr)")
    #expect(lock.stderr.contains(failure.message), "\(lock.stderr)")
    #expect(!lock.stderr.contains("\u{1b}"))
    #expect(lock.stderr.contains("1 of 3 sources failed; \(lockPath) was not changed"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: lockPath)) == lockBefore)

    let apply = try onRoot(["apply", manifests, "--auto-approve"])
    #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
    #expect(root.read("alice") == alice)
    #expect(root.read("bob") == bob)

    let refresh = try onRoot(["plan", manifests, "--refresh-sources"])
    #expect(refresh.status == 1)
    #expect(
      refresh.stdout.contains("github: alice (\(server.baseURL)): error: fetching"), "\(refresh.stdout)")
  }

  @Test func anEmptySourceIsLockedOnlyWhenAllowed() throws {
    var empty = Self.upstream
    empty["/ops.keys"] = .init(body: "")
    try server.set(empty)
    let refused = try keyward(["lock", manifests])
    #expect(refused.status == 1)
    #expect(!FileManager.default.fileExists(atPath: lockPath))
    let text = Self.manifest(base: server.baseURL).replacingOccurrences(
      of: "comment: ops-team }", with: "comment: ops-team, allow_empty: true }")
    try text.write(toFile: manifests + "/keys.yaml", atomically: true, encoding: .utf8)
    let allowed = try keyward(["lock", manifests])
    #expect(allowed.status == 0, "\(allowed.stderr)")
    #expect(
      allowed.stdout.contains("url: \(server.baseURL)/ops.keys: 0 keys (new in the lock)"),
      "\(allowed.stdout)")
  }

  @Test func withoutALockOrWithATamperedOneNothingIsPlanned() throws {
    try root.put("alice", TestKeys.alice + "\n")
    let missing = try onRoot(["apply", manifests, "--auto-approve"])
    #expect(missing.status == 1)
    #expect(
      missing.stderr.contains(
        "error: key 'alice' comes from 'github: alice (\(server.baseURL))', which keyward.lock does not pin; run 'keyward lock'"
      ), "\(missing.stderr)")
    #expect(
      missing.stderr.contains("[unlocked-source]") || missing.stderr.contains("unlocked-source"),
      "\(missing.stderr)")

    try server.set(Self.upstream)
    #expect(try keyward(["lock", manifests]).status == 0)
    let text = try String(contentsOfFile: lockPath, encoding: .utf8)
    let tampered = text.replacingOccurrences(
      of: String(Self.bare(TestKeys.bob).split(separator: " ")[1]),
      with: String(Self.bare(TestKeys.dave).split(separator: " ")[1]))
    try tampered.write(toFile: lockPath, atomically: true, encoding: .utf8)
    let refused = try onRoot(["apply", manifests, "--auto-approve"])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("the lock was edited by hand"), "\(refused.stderr)")
    #expect(root.read("alice") == TestKeys.alice + "\n")
  }
}

/// The https path, with a throwaway CA: an untrusted certificate fails closed; trusted (the CA
/// bind-mounted over the system bundle in a private mount namespace of the `keyward` process
/// only), the lock is written. Needs root for the mount namespace.
@Suite("Remote key sources over TLS", .serialized, .tags(.processes))
final class KeySourceTLSTests {
  let root: TemporaryRoot
  let directory: String

  init() throws {
    root = try TemporaryRoot()
    directory = root.path + "/tls"
    try FileManager.default.createDirectory(
      atPath: directory + "/manifests", withIntermediateDirectories: true)
  }

  func shell(_ script: String) throws -> (status: Int32, stdout: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test(.enabled(if: getuid() == 0, "needs root for a private mount namespace"))
  func httpsIsTrustedOnlyThroughTheSystemCABundle() throws {
    let make = try shell(
      """
      cd '\(directory)' && \
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
        -subj /CN=keyward-test-ca -days 2 && \
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
        -subj /CN=127.0.0.1 && \
      printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext && \
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext
      """)
    #expect(make.status == 0, "\(make.stdout)")
    let server = try KeyServer(
      directory: directory, certificate: directory + "/server.pem", key: directory + "/server.key")
    defer { server.stop() }
    #expect(server.baseURL.hasPrefix("https://127.0.0.1:"))
    try server.set(["/alice.keys": .keys([KeySourceCLITests.bare(TestKeys.alice)])])
    try """
    version: 1
    keys:
      alice: { github: alice, base_url: '\(server.baseURL)' }
    hosts: { img: {} }
    access:
      - { hosts: [img], users: [alice], keys: [alice] }

    """.write(toFile: directory + "/manifests/keys.yaml", atomically: true, encoding: .utf8)
    let lockPath = directory + "/manifests/keyward.lock"

    let untrusted = try KeywardProcess.run(["lock", directory + "/manifests"])
    #expect(untrusted.status == 1)
    #expect(untrusted.stderr.contains("failed: TLS failed"), "\(untrusted.stderr)")
    #expect(!FileManager.default.fileExists(atPath: lockPath))
    #expect(server.requests.isEmpty, "a request went through an untrusted connection")

    let keyward = KeywardProcess.executable.path
    let trusted = try shell(
      "unshare --mount --propagation private sh -c \"mount --bind '\(directory)/ca.pem' /etc/ssl/certs/ca-certificates.crt && exec '\(keyward)' lock '\(directory)/manifests'\""
    )
    #expect(trusted.status == 0, "\(trusted.stdout)")
    #expect(trusted.stdout.contains("Locked 1 source (1 key)"))
    let lock = try String(contentsOfFile: lockPath, encoding: .utf8)
    #expect(lock.contains(TestKeys.key(TestKeys.alice).fingerprint))
    #expect(server.requests == ["/alice.keys"])
  }
}

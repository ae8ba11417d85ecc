import AuthorizedKeys
import Foundation
import KeywardTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Rotating keyward's own login key over 5 real sshd hosts × 3 users, with runs killed by
/// SIGKILL at moments spread over the whole sequence. After every kill each account still
/// lets a real `ssh` in with a key its file holds (the old one, the new one or both); the same
/// command run again finishes the rotation: only the new key is left, it logs in, the old one
/// is refused.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct RotateLoginFleetTests {
  static let users = ["alice", "bob", "deploy"]
  static let hosts = 5

  /// What one account's file holds, read on the host directly.
  enum Holding: String {
    case old, both, new, neither
  }

  func holding(_ fleet: Fleet, _ index: Int, _ user: String, old: PublicKey, new: PublicKey) -> Holding {
    let bytes =
      FileManager.default.contents(atPath: fleet.authorizedKeys(index, user)).map { Array($0) } ?? []
    let keys = AuthorizedKeysFile(bytes: bytes).entries.map(\.key)
    switch (keys.contains(old), keys.contains(new)) {
    case (true, false): return .old
    case (true, true): return .both
    case (false, true): return .new
    case (false, false): return .neither
    }
  }

  func arguments(_ fleet: Fleet, old: String, new: String) -> [String] {
    [
      "rotate-login", fleet.dir + "/keys.yaml", "--new-key", new, "--identity", old, "--ssh-config",
      fleet.sshConfig, "--auto-approve", "--rollout", "1,2,100%", "--parallelism", "8",
    ]
  }

  /// When a run is killed: when it says it holds at a checkpoint (`KEYWARD_TEST_ROTATION_HOLD`,
  /// only a pause), or after a time.
  enum Kill: Sendable {
    case at(wave: Int, step: String)
    case after(Duration)
  }

  /// Runs keyward with `arguments`, killing it with SIGKILL as `kill` says (nil: let it end).
  static func run(
    _ arguments: [String], directory: String, environment: [String: String], kill when: Kill?
  )
    throws -> (status: Int32, killed: Bool, stdout: String, stderr: String)
  {
    let process = Process()
    process.executableURL = KeywardProcess.executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    env["SSH_AUTH_SOCK"] = ""
    for (key, value) in environment { env[key] = value }
    process.environment = env
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let outPath = directory + "/rotate.out"
    let errPath = directory + "/rotate.err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    defer {
      try? out.close()
      try? err.close()
    }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    if case .at(let wave, let step) = when {
      process.environment?["KEYWARD_TEST_ROTATION_HOLD"] = "\(wave):\(step)"
    }
    try process.run()
    var killed = false
    switch when {
    case .after(let delay):
      let deadline = ContinuousClock.now + delay
      while process.isRunning && ContinuousClock.now < deadline { usleep(2_000) }
    case .at(let wave, let step):
      let marker = "keyward-test: holding at wave \(wave) after '\(step)'"
      let deadline = ContinuousClock.now + .seconds(90)
      while process.isRunning && ContinuousClock.now < deadline,
        !((try? String(contentsOfFile: errPath, encoding: .utf8))?.contains(marker) ?? false)
      {
        usleep(2_000)
      }
    case nil:
      break
    }
    if when != nil && process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      killed = true
    }
    process.waitUntilExit()
    let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return (process.terminationStatus, killed, stdout, stderr)
  }

  func ms(_ duration: Duration) -> Int {
    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
  }

  /// Every (host, user) of the fleet.
  var accounts: [(Int, String)] { (1...Self.hosts).flatMap { index in Self.users.map { (index, $0) } } }

  /// Logs in with the real `ssh` client with `identity` on every account; the statuses.
  func logins(_ fleet: Fleet, _ pick: @escaping @Sendable (Int, String) -> String?) async throws -> [String:
    Int32]
  {
    try await withThrowingTaskGroup(of: (String, Int32).self) { group in
      for (index, user) in accounts {
        guard let identity = pick(index, user) else { continue }
        group.addTask { ("\(user)@lab\(index)", try await fleet.ssh(user, index, identity: identity).status) }
      }
      var statuses: [String: Int32] = [:]
      for try await (name, status) in group { statuses[name] = status }
      return statuses
    }
  }

  @Test(
    "rotate-login killed with SIGKILL at moments spread over the sequence never locks out; a rerun finishes it"
  )
  func killedRotationsNeverLockOut() async throws {
    try await Fleet.with(hosts: Self.hosts, subnet: 131) { fleet in
      var text =
        "version: 1\nkeys:\n  keyward: \(fleet.adminPublicKey.trimmingCharacters(in: .whitespacesAndNewlines))\nhosts:\n"
      for name in fleet.names { text += "  \(name): {}\n" }
      text +=
        "access:\n  - hosts: [\(fleet.names.joined(separator: ", "))]\n    users: [\(Self.users.joined(separator: ", "))]\n    keys: [keyward]\n"
      try text.write(toFile: fleet.dir + "/keys.yaml", atomically: true, encoding: .utf8)

      // Calibration: one uninterrupted rotation, timed with the same pauses, tells how long the
      // whole sequence takes; the kills below are spread over that span.
      let pauseMS = 60
      let pause = ["KEYWARD_TEST_ROTATION_PAUSE": String(pauseMS)]
      var oldPath = fleet.adminKey
      var old = try PublicKey(parsing: fleet.adminPublicKey)
      let first = try fleet.makeKey("login1")
      let started = ContinuousClock.now
      let adminPath = oldPath
      let calibration = try await Fleet.offPool { [self] in
        try Self.run(
          arguments(fleet, old: adminPath, new: first.path), directory: fleet.dir, environment: pause,
          kill: nil)
      }
      let calibrated = ContinuousClock.now - started
      #expect(calibration.status == 0, "\(calibration.stdout)\(calibration.stderr)")
      #expect(
        calibration.stdout.contains("Wave 3 of 3 (lab4, lab5): 6 rotated; gate passed"),
        "\(calibration.stdout)")
      #expect(
        calibration.stderr.contains(
          "keys.yaml:3:12: key 'keyward': make line 3 read '  keyward: ssh-ed25519 "),
        "\(calibration.stderr)")
      oldPath = first.path
      old = try PublicKey(parsing: first.publicLine)

      // Twelve kills at every checkpoint of every wave (the run says it holds there, then is
      // killed), then four at times spread over the measured span, which can land inside a
      // write (a run that ends before its time is reported, not counted).
      // The timed kills take their span from the last checkpoint run (held after the last step),
      // measured just before them, so a machine under load does not make them all land too late.
      var plans: [(wave: Int, step: String)?] = []
      for wave in 1...3 {
        for step in ["read", "added", "proven", "removed"] { plans.append((wave, step)) }
      }
      plans += [nil, nil, nil, nil]
      var span = calibrated
      var landed: [String] = []
      var leftovers = 0
      var killCount = 0
      var timed = 0
      for (run, plan) in plans.enumerated() {
        let next = try fleet.makeKey("login\(run + 2)")
        let new = try PublicKey(parsing: next.publicLine)
        let (path, newPath) = (oldPath, next.path)
        let when: Kill
        if let plan {
          when = .at(wave: plan.wave, step: plan.step)
        } else {
          let share = (Double(timed) + 0.25 + Double.random(in: 0..<0.5)) / 4
          timed += 1
          when = .after(.milliseconds(Int(Double(ms(span)) * share)))
        }
        let launched = ContinuousClock.now
        let killed = try await Fleet.offPool { [self] in
          try Self.run(
            arguments(fleet, old: path, new: newPath), directory: fleet.dir, environment: pause, kill: when)
        }
        if plan?.wave == 3 && plan?.step == "removed" { span = ContinuousClock.now - launched }
        let moment: String
        switch when {
        case .at(let wave, let step):
          moment = "at wave \(wave) after '\(step)'"
          #expect(
            killed.killed, "run \(run + 1) ended before its checkpoint: \(killed.stdout)\(killed.stderr)")
        case .after(let delay):
          moment = "after \(ms(delay)) ms of a \(ms(span)) ms run"
        }
        if killed.killed { killCount += 1 }

        // Where the kill landed: what each file holds, and the last wave the run reported.
        var counts: [Holding: Int] = [:]
        var states: [String: Holding] = [:]
        for (index, user) in accounts {
          let state = holding(fleet, index, user, old: old, new: new)
          counts[state, default: 0] += 1
          states["\(user)@lab\(index)"] = state
        }
        #expect(counts[.neither] == nil, "run \(run + 1): an account holds neither key: \(states)")
        let lastWave =
          killed.stdout.split(separator: "\n").last { $0.hasPrefix("Wave ") }.map(String.init)
          ?? "no wave ended"
        let phase =
          "run \(run + 1) \(killed.killed ? "killed" : "NOT killed (it had ended)") \(moment): "
          + "old-only \(counts[.old] ?? 0), both \(counts[.both] ?? 0), new-only \(counts[.new] ?? 0); last report: \(lastWave)"
        landed.append(phase)

        // Every key an account's file holds logs in there with the real ssh client.
        let (oldKey, newKey, found) = (path, newPath, states)
        let withOld = try await logins(fleet) { index, user in
          found["\(user)@lab\(index)"] == .new ? nil : oldKey
        }
        let withNew = try await logins(fleet) { index, user in
          found["\(user)@lab\(index)"] == .old ? nil : newKey
        }
        for (name, status) in withOld { #expect(status == 0, "run \(run + 1): old key refused on \(name)") }
        for (name, status) in withNew { #expect(status == 0, "run \(run + 1): new key refused on \(name)") }
        #expect(withOld.count + withNew.count >= 15)

        // The same command again finishes it.
        let rerun = try await Fleet.offPool { [self] in
          try Self.run(
            arguments(fleet, old: path, new: newPath), directory: fleet.dir, environment: [:], kill: nil)
        }
        #expect(rerun.status == 0, "run \(run + 1) rerun: \(rerun.stdout)\(rerun.stderr)")
        for (index, user) in accounts {
          let bytes =
            FileManager.default.contents(atPath: fleet.authorizedKeys(index, user)).map { Array($0) } ?? []
          let keys = AuthorizedKeysFile(bytes: bytes).entries.map(\.key)
          #expect(keys == [new], "run \(run + 1): \(user)@lab\(index) holds \(keys.map(\.fingerprint))")
          // A run killed between its rename and its unlock leaves a lock of a dead process (the
          // next write to that file breaks it); counted, not an error.
          let names =
            (try? FileManager.default.contentsOfDirectory(atPath: fleet.home(index, user) + "/.ssh")) ?? []
          leftovers += names.count { $0.hasSuffix(".keyward-lock") || $0.contains(".keyward-tmp") }
        }
        let newLogins = try await logins(fleet) { _, _ in newKey }
        let oldLogins = try await logins(fleet) { _, _ in oldKey }
        #expect(
          newLogins.count == 15 && newLogins.values.allSatisfy { $0 == 0 }, "run \(run + 1): \(newLogins)")
        #expect(
          oldLogins.count == 15 && oldLogins.values.allSatisfy { $0 != 0 }, "run \(run + 1): \(oldLogins)")
        oldPath = next.path
        old = new
      }
      print(
        "rotate-login: \(killCount) SIGKILL runs of \(landed.count) over 5 hosts x 3 users, each finished by a rerun"
      )
      for line in landed { print("  " + line) }
      print("  locks and temp files left by killed runs on already rotated accounts: \(leftovers)")
      #expect(killCount >= 12)
    }
  }
}

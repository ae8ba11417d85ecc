import Foundation
import KeywardCore
import KeywardTestSupport
import Synchronization
import Testing

@testable import KeywardSSH

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP listener that accepts connections (in the kernel backlog) and never says a word:
/// a hung sshd.
final class SilentListener {
  let fd: Int32

  init(address: String) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(22).bigEndian
    inet_pton(AF_INET, address, &addr.sin_addr)
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(fd, 16) == 0 else {
      close(fd)
      throw FleetError(message: "cannot listen on \(address):22: errno \(errno)")
    }
  }

  deinit { close(fd) }
}

/// A TCP listener that accepts and then trickles an SSH banner one byte a second: a tar pit
/// that resets every per-read timeout.
final class TarpitListener: @unchecked Sendable {
  let listener: SilentListener
  private let stop = Atomic<Bool>(false)

  init(address: String) throws {
    listener = try SilentListener(address: address)
    let fd = listener.fd
    Thread { [self] in
      let client = accept(fd, nil, nil)
      guard client >= 0 else { return }
      defer { close(client) }
      for byte in Array("SSH-2.0-OpenSSH_9.2p1 tarpit\r\n".utf8) where !stop.load(ordering: .relaxed) {
        var b = byte
        guard send(client, &b, 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
        sleep(1)
      }
    }.start()
  }

  deinit { stop.store(true, ordering: .relaxed) }
}

/// Timeouts: a host that hangs fails alone, at the operation timeout or the target deadline.
@Suite(
  .tags(.fleet), .enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct SSHTimeoutTests {
  func settings(_ fleet: Fleet, connect: Duration = .seconds(2), operation: Duration, deadline: Duration)
    -> SSHSettings
  {
    SSHSettings(
      sshConfigFile: fleet.sshConfig, identityFiles: [fleet.adminKey], parallelism: 4,
      connectTimeout: connect, operationTimeout: operation, targetDeadline: deadline, passphrase: .none,
      useAgent: false)
  }

  // No wall-clock assertion: other suites share this process's two cooperative threads, so
  // elapsed time says more about the test run than about the transport (78 s was seen under
  // load). A transport that ignored its timeouts would hang here; the limit makes that a failure.
  @Test(
    "a hung host fails with its step and reason while the others are read", .timeLimit(.minutes(3)),
    arguments: [
      // Long enough for a healthy host on a loaded 2-core machine, short against the hang.
      // The banner wait is bounded by the connect timeout (as ssh's ConnectTimeout bounds it).
      ("connect timeout", Duration.seconds(10), Duration.seconds(120), "handshake-failed"),
      ("target deadline", Duration.seconds(120), Duration.seconds(10), "deadline-exceeded"),
    ])
  func hungHost(name: String, connect: Duration, deadline: Duration, code: String) async throws {
    let subnet = code == "deadline-exceeded" ? 224 : 225
    try await Fleet.with(hosts: 2, subnet: subnet) { fleet in
      let listener = try SilentListener(address: "127.0.\(fleet.subnet).100")
      defer { withExtendedLifetime(listener) {} }
      let hosts = ["hung": HostSpec(name: "hung", hostname: "127.0.\(fleet.subnet).100")]
      let transport = SSHTransport(
        hosts: hosts,
        settings: settings(fleet, connect: connect, operation: .seconds(120), deadline: deadline))
      let ids = [TargetID(user: "alice", host: "hung"), TargetID(user: "alice", host: "lab1")]
      let result = await transport.fetch(ids.map { FetchRequest(id: $0) })
      let failure = try #require(result[ids[0]]?.failure, "\(name)")
      #expect(failure.code.rawValue == code)
      #expect(failure.host == "hung")
      #expect(failure.step == .handshake)
      #expect((try? result[ids[1]]?.get()) != nil, "\(String(describing: result[ids[1]]))")
      // The code names the mechanism that ended the wait: libssh2's timeout or the watchdog.
      if code == "handshake-failed" { #expect(failure.message.contains("Timed out")) }
    }
  }

  /// Measured on a plain thread around the connector itself (no fleet, no cooperative pool), so
  /// the figure is the transport's bound and not the test runner's scheduling under load.
  @Test(
    "a server that accepts TCP and never sends a banner, or trickles it, fails in --connect-timeout (3 s) +/- 1 s",
    arguments: ["silent", "tarpit"])
  func silentBannerBounded(kind: String) async throws {
    let dir = try Fleet.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = dir + "/ssh_config"
    try "Host *\n  UserKnownHostsFile \(dir)/known_hosts\n".write(
      toFile: config, atomically: true, encoding: .utf8)
    let address = kind == "silent" ? "127.0.172.100" : "127.0.172.102"
    let listener: AnyObject =
      kind == "silent" ? try SilentListener(address: address) : try TarpitListener(address: address)
    defer { withExtendedLifetime(listener) {} }
    let settings = SSHSettings(
      sshConfigFile: config, identityFiles: [dir + "/none"], parallelism: 1, connectTimeout: .seconds(3),
      operationTimeout: .seconds(60), targetDeadline: .seconds(120), passphrase: .none, useAgent: false)
    let connector = HostConnector(
      settings: settings, hosts: ["silent": HostSpec(name: "silent", hostname: address)],
      resolver: SSHConfigResolver(configFile: config))
    let (elapsed, failure) = try await Fleet.offPool { () -> (Duration, TransportError?) in
      let start = ContinuousClock.now
      do throws(TransportError) {
        _ = try connector.open("silent", user: "alice")
        return (ContinuousClock.now - start, nil)
      } catch {
        return (ContinuousClock.now - start, error)
      }
    }
    print("\(kind) banner with --connect-timeout 3: failed after \(elapsed)")
    let error = try #require(failure)
    #expect(error.step == .handshake)
    #expect(error.message.contains("Timed out"), "\(error.message)")
    #expect(elapsed >= .seconds(2) && elapsed <= .seconds(4))
  }
}

import Foundation
import KeywardCore
import SFTP
import Testing

@Suite("ProcessStream")
struct ProcessStreamTests {
  private func isGone(_ pid: pid_t) -> Bool { kill(pid, 0) == -1 && errno == ESRCH }

  @Test func echoesThroughACatChildAndReapsIt() throws {
    let stream = try ProcessStream(arguments: ["/bin/cat"], timeout: .seconds(10))
    try stream.write(Array("ping\n".utf8))
    var echoed: [UInt8] = []
    while echoed.count < 5 { echoed += try stream.read(maximum: 100) }
    #expect(echoed == Array("ping\n".utf8))
    stream.close()
    #expect(isGone(stream.pid))
    #expect(stream.exitStatus == 0)
    #expect(throws: StreamError.self) { try stream.read(maximum: 1) }
  }

  @Test func aChildThatIgnoresEndOfInputIsKilledOnClose() throws {
    let stream = try ProcessStream(
      arguments: ["/bin/sh", "-c", "trap '' TERM HUP; exec sleep 60"], timeout: .seconds(5),
      exitGrace: .milliseconds(200))
    let started = ContinuousClock.now
    stream.close()
    #expect(ContinuousClock.now - started < .seconds(5))
    #expect(isGone(stream.pid))
  }

  @Test func aSilentChildTimesOutInsteadOfHanging() throws {
    let stream = try ProcessStream(arguments: ["/bin/sleep", "60"], timeout: .milliseconds(300))
    let error = #expect(throws: StreamError.self) { try stream.read(maximum: 10) }
    #expect(error?.timedOut == true)
    stream.close()
    #expect(isGone(stream.pid))
  }

  @Test func stderrIsKeptBoundedAndSanitised() throws {
    let stream = try ProcessStream(
      arguments: [
        "/bin/sh", "-c", "printf 'oops\\033[2J\\n' >&2; head -c 100000 /dev/zero | tr '\\0' x >&2; exit 3",
      ])
    #expect(try stream.read(maximum: 10) == [])
    stream.close()
    #expect(stream.diagnostics.hasPrefix("oops?[2J"))
    #expect(stream.diagnostics.count <= 503)
    #expect(stream.exitStatus.map { ($0 >> 8) & 0xff } == 3)
  }

  @Test func writingToAChildThatExitedFailsCleanly() throws {
    let stream = try ProcessStream(arguments: ["/bin/sh", "-c", "echo 'setpriv: bad uid' >&2; exit 1"])
    _ = try stream.read(maximum: 10)
    let error = #expect(throws: StreamError.self) {
      for _ in 0..<100 { try stream.write([UInt8](repeating: 0, count: 65536)) }
    }
    #expect(error?.message.contains("setpriv: bad uid") == true)
    stream.close()
  }

  @Test func aClientOverAMissingServerFailsWithTheReason() throws {
    #expect(throws: StreamError.self) { try ProcessStream(arguments: ["/nonexistent/sftp-server"]) }
    #expect(throws: StreamError.self) { try ProcessStream(arguments: ["sftp-server"]) }
    let stream = try ProcessStream(arguments: ["/bin/false"])
    let error = #expect(throws: SFTPError.self) { try SFTPClient(stream: stream) }
    #expect(error?.kind == .stream)
    stream.close()
  }
}

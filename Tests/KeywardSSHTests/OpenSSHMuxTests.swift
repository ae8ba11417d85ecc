import Foundation
import KeywardCore
import KeywardTestSupport
import SFTP
import Synchronization
import Testing

@testable import KeywardOpenSSH

#if canImport(Glibc)
  import Glibc
#endif

/// Remote commands over a master's control socket spoken by keyward itself (`MuxClient`), against
/// a real master and sshd: output and status as `ssh` would give them, no `ssh` client process.
@Suite(.enabled(if: Fleet.enabled, "needs root, sshd and unshare (fleet tests always run in CI)"))
struct OpenSSHMuxTests {
  @Test(
    "exec over the master: stdout, stderr and status apart, 3 MB intact, a killed command and a dead socket fail with a reason, a hung one times out, no ssh client process"
  )
  func execOverTheMaster() async throws {
    try await Fleet.with(hosts: 1, subnet: 187) { fleet in
      let ssh = try #require(fleet.transport(.openssh) as? OpenSSHTransport)
      defer { ssh.close() }
      let host = try ssh.checkOut(.init(host: "lab1", loginUser: "alice"))
      var cases = 0

      let plain = try host.exec("printf 'out:%s' \"$(id -un)\"; printf 'err' >&2; exit 3", step: .read)
      #expect(plain.status == 3)
      #expect(String(decoding: plain.stdout, as: UTF8.self) == "out:alice")
      #expect(plain.stderr == "err")
      cases += 1

      let big = try host.exec("head -c 3000000 /dev/zero | tr '\\0' x", step: .read)
      #expect(big.status == 0)
      #expect(big.stdout.count == 3_000_000 && big.stdout.allSatisfy { $0 == UInt8(ascii: "x") })
      cases += 1

      // No exit status (killed by a signal): 255, as ssh reports it, which is an error.
      do throws(TransportError) {
        _ = try host.exec("kill -9 $$", step: .read)
        Issue.record("a command killed by a signal succeeded")
      } catch {
        #expect(error.code == .sessionLost, "\(error)")
        print("killed command: \(error)")
      }
      cases += 1

      // While a command runs, the master is the only ssh process: no client was started.
      let running = Thread {
        _ = try? host.exec("sleep 2", step: .read)
      }
      running.start()
      try await Task.sleep(for: .milliseconds(800))
      #expect(fleet.sshProcesses() == [host.master.pid], "\(fleet.sshProcesses())")
      cases += 1

      // A command that hangs: the deadline ends it; the master still serves the next one.
      let start = ContinuousClock.now
      do throws(StreamError) {
        _ = try MuxClient.run(socket: host.master.socket, command: "sleep 30", timeout: .seconds(1))
        Issue.record("a hung command returned")
      } catch {
        #expect(error.timedOut, "\(error)")
      }
      #expect(ContinuousClock.now - start < .seconds(10))
      let after = try host.exec("echo again", step: .read)
      #expect(String(decoding: after.stdout, as: UTF8.self) == "again\n")
      cases += 1

      // No master at the path: a reason, not a hang.
      do throws(StreamError) {
        _ = try MuxClient.run(socket: host.master.socket + ".none", command: "true", timeout: .seconds(5))
        Issue.record("a command ran without a master")
      } catch {
        #expect(error.message.contains("cannot reach the ssh master"), "\(error)")
      }
      cases += 1

      host.close()
      ssh.close()
      #expect(fleet.sshProcesses().isEmpty, "\(fleet.sshProcesses())")
      print("mux exec cases: \(cases)")
    }
  }
}

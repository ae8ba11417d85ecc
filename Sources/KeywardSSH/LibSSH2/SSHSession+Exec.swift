internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// The result of a command run over an exec channel.
struct ExecResult {
  var status: Int32
  var signal: String?
  var stdout: [UInt8]
  var stderr: [UInt8]
}

extension SSHSession {
  /// Runs `command` over an exec channel, stdout and stderr read without deadlock.
  func exec(_ command: String, step: TransportError.Step) throws(TransportError) -> ExecResult {
    guard let channel = libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0) else {
      throw error(.execFailed, step, "could not open an exec channel")
    }
    defer { libssh2_channel_free(channel) }
    if libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count)) != 0 {
      throw error(.execFailed, step, "could not run '\(command)'")
    }
    var out: [UInt8] = []
    var err: [UInt8] = []
    var buffer = [CChar](repeating: 0, count: 32768)
    // stdout is read to its end, then stderr: a command that wrote more than the channel window
    // (2 MiB) to stderr before closing stdout would stall until the timeout. The commands run
    // here (getent, the helper probe, the sshd probe) write little to stderr.
    for (stream, sink) in [(Int32(0), 0), (SSH_EXTENDED_DATA_STDERR, 1)] {
      while true {
        let n = buffer.withUnsafeMutableBufferPointer {
          libssh2_channel_read_ex(channel, stream, $0.baseAddress, $0.count)
        }
        if n == 0 { break }
        if n < 0 { throw error(.execFailed, step, "reading the output of '\(command)' failed") }
        let bytes = buffer[0..<n].map { UInt8(bitPattern: $0) }
        if sink == 0 { out += bytes } else { err += bytes }
      }
    }
    libssh2_channel_close(channel)
    libssh2_channel_wait_closed(channel)
    let status = libssh2_channel_get_exit_status(channel)
    var signalName: UnsafeMutablePointer<CChar>?
    var signalLength = 0
    libssh2_channel_get_exit_signal(channel, &signalName, &signalLength, nil, nil, nil, nil)
    var signal: String?
    if let signalName {
      signal = String(cString: signalName)
      free(signalName)
    }
    return ExecResult(status: status, signal: signal, stdout: out, stderr: err)
  }
}

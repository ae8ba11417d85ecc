internal import CLibSSH2
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

extension SSHSession {
  /// Sets the host key preference and runs the SSH handshake on the socket.
  func handshake(hostKeyPreference: [String]) throws(TransportError) {
    let preference = (hostKeyPreference.isEmpty ? LibSSH2.usableHostKeyTypes : hostKeyPreference)
      .joined(separator: ",")
    if libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preference) != 0 {
      throw error(.handshakeFailed, .handshake, "host key preference '\(preference)' was refused")
    }
    if libssh2_session_handshake(session, fd) != 0 {
      let last = lastError()
      var message = "ssh handshake failed: \(last.text) (libssh2 \(last.code))"
      if last.code == LIBSSH2_ERROR_KEX_FAILURE || last.code == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED {
        message +=
          "; the server may offer only RSA host keys, which libssh2 1.10 cannot verify (needs rsa-sha2):"
          + " give the host an ed25519 or ecdsa host key"
      }
      throw TransportError(code: .handshakeFailed, host: host, step: .handshake, message: message)
    }
  }

  /// The negotiated host key: its OpenSSH type name, wire blob and SHA256 fingerprint.
  func hostKey() throws(TransportError) -> (type: String, blob: [UInt8]) {
    var length = 0
    var type: Int32 = 0
    guard let pointer = libssh2_session_hostkey(session, &length, &type) else {
      throw error(.handshakeFailed, .hostkey, "the server sent no host key")
    }
    let blob = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
      Array(UnsafeBufferPointer(start: $0, count: length))
    }
    let names: [Int32: String] = [
      LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa", LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384",
      LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521", LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519",
    ]
    return (names[type] ?? "unknown", blob)
  }
}

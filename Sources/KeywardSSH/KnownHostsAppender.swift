import Foundation
import KeywardCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Records newly accepted host keys by appending one line to a known_hosts file; never rewrites
/// it (libssh2's writer would drop comments and hashed entries' context).
enum KnownHostsAppender {
  private static let lock = Mutex(())

  static func append(file: String, names: [String], port: Int, type: String, blob: [UInt8], host: String)
    throws(TransportError)
  {
    let hostField = names.map { port == 22 ? $0 : "[\($0)]:\(port)" }.joined(separator: ",")
    let line = "\(hostField) \(type) \(Data(blob).base64EncodedString())\n"
    let ok = lock.withLock { _ -> Bool in
      let directory = (file as NSString).deletingLastPathComponent
      if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
        try? FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      }
      let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { return false }
      defer { close(fd) }
      let bytes = Array(line.utf8)
      return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
    guard ok else {
      throw TransportError(
        code: "host-key-unknown", host: host, step: "hostkey",
        message: "could not append the new host key to '\(file)': \(TCPConnector.errnoText())")
    }
  }
}

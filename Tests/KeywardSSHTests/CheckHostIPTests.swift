import AuthorizedKeys
import KeywardTestSupport
import Testing

@testable import KeywardSSH

/// CheckHostIP's decision table (OpenSSH 9.2 `check_host_key()`), and which addresses it skips.
struct CheckHostIPTests {
  static let key = TestKeys.key(
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBht7mpK8yFMCddrfJzmXKZSv+4iCySjViGk47WC9b5m")
  static let entry = KnownHostsFile(path: "kh", bytes: Array("h \(key)\n".utf8)).entries[0]
  static let matched = KnownHostsVerdict.matched(entry)
  static let changed = KnownHostsVerdict.changed(known: [entry])
  static let unknown = KnownHostsVerdict.unknown(certificateAuthorities: [])

  @Test(
    arguments: [
      (matched, nil, "true", HostConnector.AddressCheck.none),
      (matched, matched, "true", .none),
      (matched, unknown, "true", .recordAddress),
      (matched, changed, "true", .refuse),
      (matched, changed, "ask", .refuse),
      (matched, changed, "accept-new", .none),
      (matched, changed, "false", .none),
      (unknown, changed, "true", .refuse),
      (changed, changed, "true", .none),
      (unknown, unknown, "accept-new", .none),
    ] as [(KnownHostsVerdict, KnownHostsVerdict?, String, HostConnector.AddressCheck)])
  func decisions(
    host: KnownHostsVerdict, ip: KnownHostsVerdict?, strict: String, expected: HostConnector.AddressCheck
  ) {
    #expect(HostConnector.checkHostIP(host: host, ip: ip, strict: strict) == expected)
  }

  @Test(arguments: [
    ("127.0.0.1", true), ("127.9.9.9", true), ("::1", true), ("10.0.0.5", false), ("2001:db8::1", false),
  ])
  func loopback(address: String, expected: Bool) {
    #expect(TCPConnector.isLoopback(address) == expected)
  }
}

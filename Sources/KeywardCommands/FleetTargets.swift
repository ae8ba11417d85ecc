import ArgumentParser
import Foundation
import KeywardCore

#if canImport(Glibc)
  import Glibc
#endif

/// The accounts `report` and `import` read: `USER@HOST` arguments (USER may be `*`, every
/// login account; HOST a glob over the manifests' hosts, or a plain name), the targets of the
/// manifests given as paths, or this machine (`--local`).
struct FleetTargets {
  /// Users per host (`*`: every login account).
  var users: [String: [String]] = [:]
  var hosts: [String: HostSpec] = [:]
  /// The loaded manifests, when paths were given.
  var desired: DesiredState?

  /// Splits arguments into manifest paths and `USER@HOST` patterns.
  static func resolve(
    _ arguments: [String], transport: TransportOptions, connectAs: String?, manifestUsers: Bool
  ) throws -> FleetTargets {
    var result = FleetTargets()
    let paths = arguments.filter { !$0.contains("@") || FileManager.default.fileExists(atPath: $0) }
    let patterns = arguments.filter { !paths.contains($0) }
    if !paths.isEmpty {
      let desired = transport.selection().reachable(try ManifestInput.load(paths))
      result.desired = desired
      result.hosts = desired.hosts
      for target in desired.targets {
        result.users[target.id.host, default: []].append(manifestUsers ? target.id.user : "*")
      }
      for host in desired.hosts.keys where result.users[host] == nil && !transport.local {
        result.users[host] = manifestUsers ? [] : ["*"]
      }
    }
    for pattern in patterns {
      let parts = pattern.split(separator: "@", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw ValidationError("'\(pattern)' is neither a manifest path nor USER@HOST")
      }
      let user = parts[0]
      guard user == "*" || SSHDProbe.isSafeName(user) else {
        throw ValidationError("'\(user)' is not a valid user name (or '*' for every login account)")
      }
      var matched = result.hosts.keys.filter { fnmatch(parts[1], $0, 0) == 0 }
      if matched.isEmpty {
        guard !parts[1].contains(where: { "*?[".contains($0) }) else {
          throw ValidationError("'\(parts[1])' matches no host of the manifests given")
        }
        matched = [parts[1]]
      }
      for host in matched { result.users[host, default: []].append(user) }
    }
    if transport.local {
      let name = transport.localHostNames().sorted().first ?? "localhost"
      let all = result.users.values.flatMap { $0 }
      result.users = [name: all.isEmpty ? ["*"] : all]
    }
    for host in result.users.keys {
      result.users[host] = Array(Set(result.users[host]!)).sorted()
      if result.hosts[host] == nil { result.hosts[host] = HostSpec(name: host) }
      if let connectAs { result.hosts[host]!.connectAs = connectAs }
    }
    result.users = result.users.filter { !$0.value.isEmpty }
    guard !result.users.isEmpty else {
      throw ValidationError("nothing to read: give USER@HOST, manifest paths, or --local")
    }
    return result
  }

  /// Reads everything sshd reads for these accounts.
  func snapshot(_ transport: TransportOptions, log: SSHDProbe.LogSpec? = nil) async throws -> FleetSnapshot {
    let channel = try transport.makeTransport(hosts: hosts)
    defer { TransportOptions.close(channel) }
    guard let source = channel as? any SSHDModelSource else {
      throw ValidationError("this transport cannot read sshd's settings")
    }
    let logins = hosts.compactMapValues(\.connectAs)
    return await FleetSnapshot.read(users, loginUsers: logins, log: log, source: source, transport: channel)
  }
}

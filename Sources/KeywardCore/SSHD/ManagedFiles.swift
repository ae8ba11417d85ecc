/// Which files each target manages, from the sshd model of its host: a step of its own before
/// the planner, which stays unaware of sshd.
///
/// - A target on the default path (`.ssh/authorized_keys`) manages the first file sshd reads
///   for its user instead.
/// - A target whose path (set in the manifest) is not a file sshd reads gets a warning.
/// - In exclusive mode, every other file sshd reads for the user becomes a *swept* target: it
///   must hold no key (its keys are shown and removed; declared keys land in the managed file).
/// - A user sshd refuses anyway (DenyUsers, PubkeyAuthentication no, PermitRootLogin no for
///   root, ...) gets a warning.
public struct ManagedFiles: Sendable {
  /// The targets to plan, the swept ones apart, and warnings per managed target.
  public struct Resolution: Sendable {
    public var managed: DesiredState
    /// Swept targets (exclusive mode): each with the managed target of the same account.
    public var swept: [(target: DesiredTarget, managedBy: TargetID)]
    public var warnings: [TargetID: [String]]
  }

  public static let defaultPath = ".ssh/authorized_keys"

  public static func resolve(_ desired: DesiredState, models: [String: SSHDModel]) -> Resolution {
    var managed = desired
    var swept: [(DesiredTarget, TargetID)] = []
    var warnings: [TargetID: [String]] = [:]
    let explicitPaths = Set(desired.targets.map(\.id))
    var targets: [DesiredTarget] = []
    for var target in desired.targets {
      guard let model = models[target.id.host], model.users[target.id.user] != nil else {
        if let model = models[target.id.host], model.accounts[target.id.user] != nil,
          let note = model.notes.last
        {
          warnings[target.id] = ["managing '\(target.id.path)' as the manifest says: \(note)"]
        }
        targets.append(target)
        continue
      }
      var notes: [String] = []
      let user = target.id.user
      let paths = model.targetPaths(for: user)
      let approximate =
        model.isApproximate ? " (approximate: \(model.source.rawValue) evaluated by keyward)" : ""
      if paths.isEmpty {
        notes.append(
          "sshd reads no authorized_keys file for '\(user)' (AuthorizedKeysFile none)\(approximate)")
      } else if target.id.path == defaultPath {
        target.id.path = paths[0]
      } else if !paths.contains(target.id.path) {
        notes.append(
          "sshd does not read '\(target.id.path)' for '\(user)'; it reads "
            + paths.map { "'\($0)'" }.joined(separator: ", ") + approximate)
      }
      if let settings = model.users[user], let account = model.accounts[user],
        let refusal = settings.publicKeyRefusal(user: user, uid: account.uid, groups: account.groups)
      {
        notes.append("sshd refuses public-key logins of '\(user)': \(refusal)\(approximate)")
      }
      if target.mode == .exclusive {
        for path in paths where path != target.id.path {
          let id = TargetID(user: user, host: target.id.host, path: path)
          guard !explicitPaths.contains(id) else { continue }
          swept.append(
            (DesiredTarget(id: id, mode: .exclusive, entries: [], follow: target.follow), target.id))
        }
      }
      if !notes.isEmpty { warnings[target.id] = notes }
      targets.append(target)
    }
    managed.targets = targets
    return Resolution(
      managed: DesiredState(
        targets: targets, hosts: desired.hosts, revoked: desired.revoked,
        protectedFingerprints: desired.protectedFingerprints, maxRemovals: desired.maxRemovals,
        keyNames: desired.keyNames),
      swept: swept, warnings: warnings)
  }
}

/// The accounts keyward logs in to for a set of manifests: for each target, its host's
/// `connect_as` user or else the target's own user. Each is read and written at the paths the
/// manifests manage for that user on that host, or at `.ssh/authorized_keys` when the
/// manifests do not manage that user there (a `connect_as` user that is no target).
public enum LoginAccounts {
  /// The login accounts of the targets `selection` selects.
  public static func requests(for desired: DesiredState, selection: TargetSelection = TargetSelection())
    -> [FetchRequest]
  {
    var byID: [TargetID: FetchRequest] = [:]
    let managed = Dictionary(grouping: desired.targets) { HostUser(host: $0.id.host, user: $0.id.user) }
    for target in selection.select(desired).targets {
      let login = desired.hosts[target.id.host]?.connectAs ?? target.id.user
      let own = managed[HostUser(host: target.id.host, user: login)] ?? []
      if own.isEmpty {
        let id = TargetID(user: login, host: target.id.host)
        byID[id] = FetchRequest(id: id)
      }
      for item in own {
        byID[item.id] = FetchRequest(
          id: item.id, follow: item.follow, allowOutsideHome: item.allowOutsideHome,
          allowActingAsRoot: item.actAsRoot)
      }
    }
    return byID.keys.sorted().compactMap { byID[$0] }
  }

  private struct HostUser: Hashable {
    var host: String
    var user: String
  }
}

import AuthorizedKeys

/// Rotates keyward's own login key on every account it logs in to, wave by wave, never
/// leaving an account without a key that logs in:
///
/// 1. read the file, logged in with the old key (or, where that no longer works, the new one);
/// 2. where only the old key is there, add the new one beside it (an atomic compare-and-swap
///    write over the old key's session; its login check proves the old key still works);
/// 3. log in afresh with the new key alone and read the file again: the proof;
/// 4. over that new-key session, remove the old key (the write's login check logs in afresh
///    with the new key, and puts the previous file back if that fails).
///
/// The state lives on the hosts only (`LoginKeyState`): a run interrupted at any point is
/// finished by running it again. A wave's gate is that every account in it was rotated (or
/// at most `maxFailures` failed); a closed gate stops the run before the next wave.
public struct LoginKeyRotation: Sendable {
  /// The accounts keyward logs in to (each the file that authorizes its login key).
  public var targets: [FetchRequest]
  /// The key to rotate to, and the comment for its lines.
  public var newKey: PublicKey
  public var newComment: String?
  public var rollout: Rollout
  /// The order hosts are taken in (`RolloutOrder`); by default natural order of names.
  public var hostOrder: [String]?
  public var maxFailures: FailureLimit
  /// The pause between two waves.
  public var wavePause: Duration = .zero
  /// Fingerprints known to be the old login key before any login (the `--identity` files'
  /// public keys); the keys the old sessions authenticated with are added as they are seen.
  public var knownOldKeys: Set<String> = []
  /// Hears each step of each wave as it ends (tests pause here; never a fake).
  public var checkpoint: @Sendable (RotationStep, Int) async -> Void

  public init(
    targets: [FetchRequest], newKey: PublicKey, newComment: String?,
    rollout: Rollout = Rollout(sizes: [.percent(100)]),
    hostOrder: [String]? = nil, maxFailures: FailureLimit = .targets(0),
    checkpoint: @escaping @Sendable (RotationStep, Int) async -> Void = { _, _ in }
  ) {
    self.targets = targets
    self.newKey = newKey
    self.newComment = newComment
    self.rollout = rollout
    self.hostOrder = hostOrder
    self.maxFailures = maxFailures
    self.checkpoint = checkpoint
  }

  /// The waves: hosts in rollout order, split by the rollout's sizes.
  public var waves: [[String]] {
    let hosts = Set(targets.map(\.id.host))
    let ordered = hostOrder.map { order in order.filter(hosts.contains) } ?? Rollout.order(hosts)
    let rest = Rollout.order(hosts.subtracting(ordered))
    return rollout.waves(ordered + rest)
  }

  /// Runs the rotation. `old` logs in with the current key; `new` with the new key alone and
  /// must open a fresh connection for its first call to each account. `progress` hears of
  /// each wave as it ends (and may print).
  public func run(
    old: some Transport, new: some Transport, progress: @Sendable (RotationWave) -> Void = { _ in }
  ) async -> RotationReport {
    let planned = waves
    var done: [RotationWave] = []
    var results: [TargetID: RotationTargetResult] = [:]
    var oldKeys = knownOldKeys.subtracting([newKey.fingerprint])
    var stoppedAfter: Int?
    for (index, hosts) in planned.enumerated() {
      if index > 0 && wavePause > .zero { try? await Task.sleep(for: wavePause) }
      let members = Set(hosts)
      let batch = targets.filter { members.contains($0.id.host) }.sorted { $0.id < $1.id }
      let outcome = await rotate(batch, wave: index + 1, old: old, new: new, oldKeys: &oldKeys)
      let failures = outcome.count { !$0.isDone }
      var reason: String?
      if !maxFailures.allows(failures, of: outcome.count) {
        let names = outcome.filter { !$0.isDone }.map(\.target.description)
        reason = "\(failures) of \(outcome.count) accounts not rotated (\(names.joined(separator: ", ")))"
      }
      let wave = RotationWave(
        number: index + 1, hosts: hosts, results: outcome, passed: reason == nil, reason: reason)
      for result in outcome { results[result.target] = result }
      done.append(wave)
      progress(wave)
      if reason != nil {
        stoppedAfter = index + 1
        break
      }
    }
    let all = targets.map(\.id).sorted().map { id in
      results[id]
        ?? RotationTargetResult(
          target: id, status: .skipped,
          message: "not reached: the rotation stopped after wave \(stoppedAfter ?? 0)")
    }
    return RotationReport(
      plannedWaves: planned, waves: done, stoppedAfter: stoppedAfter, results: all, oldKeys: oldKeys.sorted())
  }

  /// One wave: read, add, prove, remove, each as one batch over its transport.
  private func rotate(
    _ batch: [FetchRequest], wave: Int, old: some Transport, new: some Transport, oldKeys: inout Set<String>
  ) async -> [RotationTargetResult] {
    var failed: [TargetID: String] = [:]
    var found: [TargetID: LoginKeyState] = [:]
    var observed: [TargetID: ObservedTarget] = [:]
    var viaNew: Set<TargetID> = []

    // 1. Read with the old key; where it no longer logs in, with the new one.
    let first = await old.fetch(batch)
    var retry: [FetchRequest] = []
    var oldErrors: [TargetID: TransportError] = [:]
    for request in batch {
      switch first[request.id] {
      case .success(let target):
        if let fingerprint = target.loginKeyFingerprint, fingerprint != newKey.fingerprint {
          oldKeys.insert(fingerprint)
          observed[request.id] = target
        } else {
          retry.append(request)
        }
      case .failure(let error):
        oldErrors[request.id] = error
        retry.append(request)
      case nil:
        retry.append(request)
      }
    }
    if !retry.isEmpty {
      let second = await new.fetch(retry)
      for request in retry {
        switch second[request.id] {
        case .success(let target) where target.loginKeyFingerprint.map { $0 != newKey.fingerprint } ?? false:
          failed[request.id] =
            "the login with the new key authenticated with another key ('\(target.loginKeyFingerprint ?? "")'); is --new-key's .pub its public key?"
        case .success(let target):
          observed[request.id] = target
          viaNew.insert(request.id)
        case .failure(let error):
          let cause = oldErrors[request.id] ?? error
          failed[request.id] =
            "neither key logs in (old key: \(cause.step): \(cause.message); new key: \(error.step): \(error.message))"
        case nil:
          failed[request.id] = "the transport gave no result"
        }
      }
    }
    for (id, target) in observed {
      found[id] = LoginKeyState(content: target.content, old: oldKeys, new: newKey)
    }
    await checkpoint(.read, wave)

    // 2. Add the new key beside the old one, over the old key's session.
    var adds: [WriteRequest] = []
    for request in batch {
      guard let target = observed[request.id], found[request.id] == .oldOnly, let content = target.content
      else { continue }
      let next = LoginKeyEdit.adding(newKey, comment: newComment, to: content, old: oldKeys)
      adds.append(write(request, content: next, digest: target.digest, observed: target))
    }
    if !adds.isEmpty {
      let written = await old.write(adds)
      for add in adds {
        if let problem = Self.problem(written[add.id], step: "adding the new key") {
          failed[add.id] = problem
        }
      }
    }
    // A file with neither key is fine when another file of the same account holds one.
    var withoutKey: Set<TargetID> = []
    for request in batch where found[request.id] == .neither && failed[request.id] == nil {
      let siblings = batch.filter {
        $0.id.host == request.id.host && $0.id.user == request.id.user && $0.id != request.id
      }
      if siblings.contains(where: { found[$0.id] != nil && found[$0.id] != .neither }) {
        withoutKey.insert(request.id)
        continue
      }
      failed[request.id] =
        "neither the old nor the new key is in '\(observed[request.id]?.absolutePath ?? request.id.path)';"
        + " keyward logs in some other way there (another file, a certificate): rotate it by hand"
    }
    await checkpoint(.added, wave)

    // 3. Prove: a fresh login with the new key alone, which must find the new key in the file.
    let pending = batch.filter {
      failed[$0.id] == nil && (found[$0.id] == .oldOnly || found[$0.id] == .both || viaNew.contains($0.id))
    }
    var proven: [TargetID: ObservedTarget] = [:]
    let fresh = pending.filter { !viaNew.contains($0.id) }
    let proofs = fresh.isEmpty ? [:] : await new.fetch(fresh)
    for request in pending {
      if viaNew.contains(request.id), let target = observed[request.id] {
        proven[request.id] = target
        continue
      }
      switch proofs[request.id] {
      case .success(let target) where target.loginKeyFingerprint.map { $0 != newKey.fingerprint } ?? false:
        failed[request.id] =
          "the login meant to prove the new key authenticated with another key ('\(target.loginKeyFingerprint ?? "")'); is --new-key's .pub its public key?"
      case .success(let target):
        if LoginKeyState(content: target.content, old: oldKeys, new: newKey) == .oldOnly {
          failed[request.id] = "the new key is not in the file after adding it (changed by someone else?)"
        } else {
          proven[request.id] = target
        }
      case .failure(let error):
        failed[request.id] =
          "a fresh login with the new key failed (\(error.step): \(error.message)); the old key was kept"
      case nil:
        failed[request.id] = "the transport gave no result"
      }
    }
    await checkpoint(.proven, wave)

    // 4. Remove the old key, over the new key's session.
    var removals: [WriteRequest] = []
    for request in batch {
      guard let target = proven[request.id], let content = target.content,
        LoginKeyState(content: content, old: oldKeys, new: newKey) == .both
      else { continue }
      removals.append(
        write(
          request, content: LoginKeyEdit.removing(oldKeys, from: content), digest: target.digest,
          observed: target))
    }
    if !removals.isEmpty {
      let written = await new.write(removals)
      for removal in removals {
        if let problem = Self.problem(written[removal.id], step: "removing the old key") {
          failed[removal.id] = problem
        }
      }
    }
    await checkpoint(.removed, wave)

    return batch.map { request in
      let id = request.id
      if let problem = failed[id] {
        return RotationTargetResult(target: id, status: .failed, found: found[id], message: problem)
      }
      if withoutKey.contains(id) {
        return RotationTargetResult(
          target: id, status: .withoutLoginKey, found: found[id],
          message: "holds neither key; the login key is in another file of this account")
      }
      let status: RotationTargetResult.Status = found[id] == .newOnly ? .alreadyRotated : .rotated
      return RotationTargetResult(target: id, status: status, found: found[id])
    }
  }

  private func write(_ request: FetchRequest, content: [UInt8], digest: String, observed: ObservedTarget)
    -> WriteRequest
  {
    var write = WriteRequest(
      id: request.id, expectedDigest: digest, content: content,
      fileMode: (observed.file?.mode ?? 0o600) & 0o600,
      follow: request.follow, verifyLogin: true)
    write.allowOutsideHome = request.allowOutsideHome
    write.allowActingAsRoot = request.allowActingAsRoot
    return write
  }

  /// Why a write did not land, or nil when it did.
  static func problem(_ outcome: WriteOutcome?, step: String) -> String? {
    switch outcome {
    case .written: return nil
    case .stale: return "\(step): the file changed while rotating; run again"
    case .failed(let error): return "\(step): \(error.step): \(error.message)"
    case .rolledBack(let error):
      return "\(step): \(error.message); the previous file was put back"
    case nil: return "\(step): the transport gave no result"
    }
  }
}

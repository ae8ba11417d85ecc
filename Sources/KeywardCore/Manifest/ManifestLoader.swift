import Foundation

/// Loads a manifest (one file, or a directory whose `*.yaml`/`*.yml` files are one manifest),
/// checks it, and resolves it into a `DesiredState`. Reads only the manifests and the key files
/// they name; touches no host. Never throws: every problem is a `Diagnostic`.
///
/// The pipeline: `YAMLParser` (a node tree with marks), `ManifestDecoder` (fields, by type),
/// merging of the files, `ManifestResolver` (names, policy, rules to targets). The language is
/// documented in `docs/manifest.md`.
///
/// ```swift
/// let result = ManifestLoader().load("manifests/")
/// for diagnostic in result.diagnostics { print(diagnostic) }
/// guard let state = result.state else { exit(1) }
/// ```
public struct ManifestLoader: Sendable {
  /// The largest manifest file read (16 MiB); larger files are refused with `file-too-large`.
  public static let maximumFileSize = 16 << 20

  /// The moment `expires` dates are compared with (for `key-expired` warnings).
  public var now: Date
  /// The pins of remote key sources. `load(paths:)` reads `keyward.lock` beside the manifests
  /// when this is `nil`; `load(sources:)` uses it as given.
  public var lock: LockFile?
  /// When false, remote key sources are listed in `ManifestResult.keySources` but not looked
  /// up in the lock (what `keyward lock` needs before there is one).
  public var requiresLock = true

  /// Directories besides each manifest file's own from which `file:` key sources may be read
  /// (absolute paths and `../` are refused outside them).
  public var keyFileRoots: [String]

  public init(
    now: Date = Date(), keyFileRoots: [String] = [], lock: LockFile? = nil, requiresLock: Bool = true
  ) {
    self.now = now
    self.keyFileRoots = keyFileRoots
    self.lock = lock
    self.requiresLock = requiresLock
  }

  /// Loads the manifest at `path`: a file, or a directory of `*.yaml`/`*.yml` files (not recursive).
  public func load(_ path: String) -> ManifestResult {
    load(paths: [path])
  }

  /// Loads one manifest made of every path given (files, and the manifest files of directories),
  /// merged in the order given.
  public func load(paths: [String]) -> ManifestResult {
    var files: [String] = []
    for path in paths {
      if ManifestFileReader.isDirectory(path) {
        do {
          let found = try ManifestFileReader.manifestFiles(in: path)
          if found.isEmpty { return unreadable(path, "the directory holds no *.yaml or *.yml file") }
          files += found
        } catch {
          return unreadable(path, error.description)
        }
      } else {
        files.append(path)
      }
    }
    var sources: [(file: String, bytes: [UInt8])] = []
    var diagnostics = Diagnostics()
    for file in files {
      do {
        sources.append((file, try ManifestFileReader.read(file, limit: Self.maximumFileSize)))
      } catch {
        guard error.isTooLarge else { return unreadable(file, error.description) }
        diagnostics.error(
          .fileTooLarge, "cannot read manifest '\(file)': \(error); split it into several files",
          at: SourceLocation(file: file, line: 1, column: 1))
      }
    }
    var loader = self
    let lockPath = LockFile.path(besideManifests: paths)
    if loader.lock == nil && requiresLock {
      do {
        loader.lock = try LockFile.read(lockPath)
      } catch {
        diagnostics.error(
          .unlockedSource, "cannot use '\(lockPath)': \(error)",
          at: SourceLocation(file: lockPath, line: 1, column: 1))
      }
    }
    var result = loader.load(sources: sources)
    result.lockPath = lockPath
    result.diagnostics = Diagnostics(diagnostics.all + result.diagnostics).sorted
    result.files = files
    if diagnostics.hasErrors { result.state = nil }
    return result
  }

  /// Loads a manifest from texts already in memory, merged in the order given.
  public func load(sources: [(file: String, bytes: [UInt8])]) -> ManifestResult {
    var diagnostics = Diagnostics()
    var manifest = Manifest()
    var defaultsSeen: [String: SourceLocation] = [:]
    for source in sources {
      let document = YAMLParser.parse(source.bytes, file: source.file)
      diagnostics.append(contentsOf: document.diagnostics)
      if document.root == nil && !document.diagnostics.isEmpty { continue }
      var decoder = ManifestDecoder(document: document, ruleOffset: manifest.access.count)
      decoder.keyFiles.allowedRoots = keyFileRoots
      decoder.lock = lock
      decoder.requiresLock = requiresLock
      decoder.decode()
      diagnostics.append(contentsOf: decoder.diagnostics)
      merge(decoder.manifest, into: &manifest, seen: &defaultsSeen, diagnostics: &diagnostics)
    }
    var resolver = ManifestResolver(manifest: manifest, now: now)
    let state = resolver.resolve()
    diagnostics.append(contentsOf: resolver.diagnostics)
    let sorted = Self.unique(diagnostics.sorted)
    var result = ManifestResult(
      state: diagnostics.hasErrors ? nil : state, diagnostics: sorted, files: sources.map(\.file))
    result.keySources = manifest.keySources
    return result
  }

  /// Diagnostics reported twice at one place (a node shared by aliases) are shown once.
  private static func unique(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
    var seen: Set<Diagnostic> = []
    return diagnostics.filter { seen.insert($0).inserted }
  }

  private func unreadable(_ path: String, _ reason: String) -> ManifestResult {
    ManifestResult(
      state: nil,
      diagnostics: [.error(.unreadableFile, "cannot read manifest '\(path)': \(reason)", at: nil)],
      files: [], isUnreadable: true)
  }

  /// Adds one file's part to the whole; `defaults` and `policy` fields may be set in one file only.
  private func merge(
    _ part: Manifest, into manifest: inout Manifest, seen: inout [String: SourceLocation],
    diagnostics: inout Diagnostics
  ) {
    manifest.files += part.files
    manifest.keys += part.keys
    manifest.groups += part.groups
    manifest.hosts += part.hosts
    manifest.hostGroups += part.hostGroups
    manifest.access += part.access
    manifest.revoked += part.revoked
    manifest.keySources += part.keySources
    func setting<Value>(_ name: String, _ value: Located<Value>?, _ target: inout Located<Value>?) {
      guard let value else { return }
      if let first = seen[name] {
        diagnostics.error(
          .duplicateDefinition, "'\(name)' is set in two files", at: value.location,
          notes: [Diagnostic.Note("first set here", at: first)])
        return
      }
      seen[name] = value.location
      target = value
    }
    setting("defaults.mode", part.defaults.mode, &manifest.defaults.mode)
    setting("defaults.path", part.defaults.path, &manifest.defaults.path)
    setting("defaults.port", part.defaults.port, &manifest.defaults.port)
    setting("defaults.connect_as", part.defaults.connectAs, &manifest.defaults.connectAs)
    setting("defaults.known_hosts", part.defaults.knownHosts, &manifest.defaults.knownHosts)
    setting("defaults.follow", part.defaults.follow, &manifest.defaults.follow)
    setting("defaults.act_as_root", part.defaults.actAsRoot, &manifest.defaults.actAsRoot)
    setting("defaults.transport", part.defaults.transport, &manifest.defaults.transport)
    setting("policy.allowed_types", part.policy.allowedTypes, &manifest.policy.allowedTypes)
    setting("policy.min_rsa_bits", part.policy.minRSABits, &manifest.policy.minRSABits)
    setting("policy.max_removals", part.policy.maxRemovals, &manifest.policy.maxRemovals)
    setting("rollout", part.rollout, &manifest.rollout)
  }
}

/// Builds `YAMLNode` trees from parser events, iteratively (no recursion): anchors, aliases
/// with a cycle check and an expansion budget, duplicate keys, merge keys, tags and depth.
struct YAMLTreeBuilder {
  private struct Frame {
    var isMapping: Bool
    var line: Int
    var column: Int
    var anchor: String?
    var items: [YAMLNode] = []
    var pairs: [YAMLNode.Pair] = []
    var pendingKey: YAMLNode?
    /// First position of each key, for duplicate detection.
    var keys: [String: (line: Int, column: Int)] = [:]
    var merges: [YAMLNode] = []
    var size = 1
    var bytes = 0
  }

  let file: String
  private let aliasBudget: Int
  private let aliasByteBudget: Int
  private let maximumDepth: Int
  private var stack: [Frame] = []
  private var anchors: [String: YAMLNode] = [:]
  private var openAnchors: Set<String> = []
  private var aliasNodes = 0
  private var aliasBytes = 0
  private var root: YAMLNode?
  private var diagnostics: [Diagnostic] = []
  /// Set by a fatal error: no further event is read.
  private(set) var stopped = false

  init(file: String, aliasBudget: Int, aliasByteBudget: Int, maximumDepth: Int) {
    self.file = file
    self.aliasBudget = aliasBudget
    self.aliasByteBudget = aliasByteBudget
    self.maximumDepth = maximumDepth
  }

  var document: YAMLDocument {
    YAMLDocument(file: file, root: stopped ? nil : root, diagnostics: diagnostics)
  }

  private func location(_ line: Int, _ column: Int) -> SourceLocation {
    SourceLocation(file: file, line: line, column: column)
  }

  /// Records a fatal error and stops loading.
  mutating func fail(
    _ code: DiagnosticCode, _ message: String, line: Int, column: Int, notes: [Diagnostic.Note] = []
  ) {
    diagnostics.append(.error(code, message, at: location(line, column), notes: notes))
    stopped = true
  }

  private mutating func checkTag(_ tag: String?, allowed: Set<String>, line: Int, column: Int) {
    guard let tag, !allowed.contains(tag) else { return }
    let shown = tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst(18) : tag
    diagnostics.append(
      .error(
        .unsupportedYAML, "tag '\(shown)' is not supported; keyward reads every value by its field",
        at: location(line, column)))
  }

  mutating func scalar(
    _ value: String, style: YAMLNode.ScalarStyle, tag: String?, anchor: String?, line: Int, column: Int
  ) {
    checkTag(tag, allowed: ["tag:yaml.org,2002:str", "!"], line: line, column: column)
    let node = YAMLNode(
      kind: .scalar(value, style, forcedString: tag == "tag:yaml.org,2002:str" || tag == "!"), line: line,
      column: column)
    if let anchor { anchors[anchor] = node }
    add(node)
  }

  mutating func alias(_ name: String, line: Int, column: Int) {
    if openAnchors.contains(name) {
      fail(
        .aliasCycle, "alias '*\(name)' refers to a node that contains it; aliases cannot be recursive",
        line: line, column: column)
      return
    }
    guard var node = anchors[name] else {
      fail(
        .undefinedAlias, "alias '*\(name)' refers to no anchor; define '&\(name)' before using it",
        line: line, column: column)
      return
    }
    aliasNodes += node.expandedSize
    if aliasNodes > aliasBudget {
      fail(
        .aliasExpansion,
        "aliases expand to more than \(aliasBudget) nodes; refusing to load (an alias bomb?)",
        line: line, column: column)
      return
    }
    aliasBytes += node.expandedBytes
    if aliasBytes > aliasByteBudget {
      fail(
        .aliasExpansion,
        "aliases expand to more than \(aliasByteBudget >> 20) MiB of text; refusing to load (an alias bomb?)",
        line: line, column: column)
      return
    }
    // The alias stands for the anchored node; it keeps the anchor's positions, except its own.
    node.line = line
    node.column = column
    add(node)
  }

  mutating func startCollection(isMapping: Bool, tag: String?, anchor: String?, line: Int, column: Int) {
    if stack.count >= maximumDepth {
      fail(
        .unsupportedYAML, "collections nest deeper than \(maximumDepth) levels", line: line,
        column: column)
      return
    }
    checkTag(
      tag, allowed: [isMapping ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq", "!"], line: line,
      column: column)
    if let anchor { openAnchors.insert(anchor) }
    stack.append(Frame(isMapping: isMapping, line: line, column: column, anchor: anchor))
  }

  mutating func endCollection() {
    guard var frame = stack.popLast() else { return }
    let node: YAMLNode
    if frame.isMapping {
      applyMerges(&frame)
      node = YAMLNode(
        kind: .mapping(frame.pairs), line: frame.line, column: frame.column, expandedSize: frame.size,
        expandedBytes: frame.bytes)
    } else {
      node = YAMLNode(
        kind: .sequence(frame.items), line: frame.line, column: frame.column, expandedSize: frame.size,
        expandedBytes: frame.bytes)
    }
    if let anchor = frame.anchor {
      openAnchors.remove(anchor)
      anchors[anchor] = node
    }
    add(node)
  }

  private mutating func add(_ node: YAMLNode) {
    guard !stack.isEmpty else {
      root = node
      return
    }
    let index = stack.count - 1
    stack[index].size = stack[index].size &+ node.expandedSize
    stack[index].bytes = stack[index].bytes &+ node.expandedBytes
    if !stack[index].isMapping {
      stack[index].items.append(node)
      return
    }
    guard let key = stack[index].pendingKey else {
      stack[index].pendingKey = node
      return
    }
    stack[index].pendingKey = nil
    guard let name = key.scalar else {
      diagnostics.append(
        .error(
          .unsupportedYAML, "mapping keys must be plain text, not \(key.shapeDescription)",
          at: location(key.line, key.column)))
      return
    }
    if name == "<<" && key.isPlainScalar {
      stack[index].merges.append(node)
      return
    }
    if let first = stack[index].keys[name] {
      diagnostics.append(
        .error(
          .duplicateKey, "duplicate key '\(name)' in this mapping", at: location(key.line, key.column),
          notes: [Diagnostic.Note("'\(name)' first defined here", at: location(first.line, first.column))]))
      return
    }
    stack[index].keys[name] = (key.line, key.column)
    stack[index].pairs.append(YAMLNode.Pair(key: key, value: node))
  }

  /// `<<: *base` or `<<: [*a, *b]`: adds the sources' pairs whose keys are not set explicitly.
  private mutating func applyMerges(_ frame: inout Frame) {
    var sources: [YAMLNode] = []
    for merge in frame.merges {
      if merge.mapping != nil {
        sources.append(merge)
      } else if let items = merge.sequence, items.allSatisfy({ $0.mapping != nil }) {
        sources.append(contentsOf: items)
      } else {
        diagnostics.append(
          .error(
            .invalidMerge,
            "a '<<' merge takes a mapping or a list of mappings, not \(merge.shapeDescription)",
            at: location(merge.line, merge.column)))
      }
    }
    var merged: Set<String> = []
    for source in sources {
      for pair in source.mapping ?? [] {
        guard let name = pair.key.scalar, frame.keys[name] == nil, !merged.contains(name) else { continue }
        merged.insert(name)
        frame.pairs.append(pair)
      }
    }
  }
}

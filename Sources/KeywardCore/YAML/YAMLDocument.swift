/// One loaded YAML file: its root node (nil for an empty file) and the problems found while loading.
public struct YAMLDocument: Sendable {
  public var file: String
  /// The root node; `nil` when the file holds no document or could not be parsed.
  public var root: YAMLNode?
  public var diagnostics: [Diagnostic]

  public init(file: String, root: YAMLNode?, diagnostics: [Diagnostic]) {
    self.file = file
    self.root = root
    self.diagnostics = diagnostics
  }

  /// The location of `node` in this file.
  public func location(of node: YAMLNode) -> SourceLocation {
    SourceLocation(file: file, line: node.line, column: node.column)
  }
}

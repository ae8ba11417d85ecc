import ArgumentParser

/// How a plan is printed.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case text, json, markdown
}

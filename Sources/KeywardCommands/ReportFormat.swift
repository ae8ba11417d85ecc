import ArgumentParser

/// How `apply` prints what it did: its help lists only the formats it can write.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case text, json
}

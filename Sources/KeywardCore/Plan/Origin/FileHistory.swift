/// What the record in a target's file says about the file as a whole.
public enum FileHistory: String, Hashable, Sendable, Codable, CaseIterable {
  /// The file is byte for byte what keyward last wrote.
  case asWritten = "as-written"
  /// The file changed since keyward last wrote it.
  case changed
  /// No record: keyward never wrote this file, or the record line was removed.
  case unrecorded
}

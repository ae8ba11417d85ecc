/// The lines of a target's new file, before it is assembled: what the planner's merge of the
/// observed file with the granted keys produced.
struct MergedLines {
  /// The lines to write, in order, without their newlines.
  var lines: [[UInt8]] = []
  /// Why lines change; the changes themselves are derived from the bytes.
  var labels: [KeyChange] = []
  /// Fingerprint -> the line an add writes.
  var added: [String: [UInt8]] = [:]
  /// Key lines in the observed file.
  var observedKeys = 0
  /// Keys the new file holds (kept, updated or added).
  var keptKeys = 0
}

/// A value read from a manifest, with where it was written.
struct Located<Value: Sendable>: Sendable {
  var value: Value
  var location: SourceLocation

  init(_ value: Value, at location: SourceLocation) {
    self.value = value
    self.location = location
  }
}

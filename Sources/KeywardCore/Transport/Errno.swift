#if canImport(Glibc)
  import Glibc
#endif

/// A failed system call's `errno`, with the system's own words for it.
struct Errno: Error, Hashable, CustomStringConvertible {
  var code: Int32

  /// The current `errno`.
  static var current: Errno { Errno(code: errno) }

  var description: String { String(cString: strerror(code)) }
}

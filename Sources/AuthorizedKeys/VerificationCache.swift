#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Remembers the outcome of certificate signature checks by the exact certificate blob.
///
/// A certificate blob fully determines its verdict, and the same certificate often appears
/// in many files (every host of a fleet) or several times in one file; verifying an Ed25519
/// or ECDSA signature costs far more than parsing the line. Bounded: cleared when full.
final class VerificationCache: @unchecked Sendable {
  static let shared = VerificationCache(limit: 4096)

  private var entries: [[UInt8]: Result<(String, Bool), KeyError>] = [:]
  private var mutex = pthread_mutex_t()
  private let limit: Int

  init(limit: Int) {
    self.limit = limit
    pthread_mutex_init(&mutex, nil)
  }

  deinit { pthread_mutex_destroy(&mutex) }

  /// The cached verdict for `blob`, or computes it with `check` and stores it.
  func verdict(
    for blob: [UInt8], _ check: () throws(KeyError) -> (String, Bool)
  ) throws(KeyError) -> (String, Bool) {
    pthread_mutex_lock(&mutex)
    let cached = entries[blob]
    pthread_mutex_unlock(&mutex)
    if let cached { return try cached.get() }
    let result: Result<(String, Bool), KeyError>
    do {
      result = .success(try check())
    } catch {
      result = .failure(error)
    }
    pthread_mutex_lock(&mutex)
    if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
    entries[blob] = result
    pthread_mutex_unlock(&mutex)
    return try result.get()
  }
}

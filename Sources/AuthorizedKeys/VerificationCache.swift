#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Remembers the outcome of costly checks by the exact bytes checked: certificate
/// signatures (by certificate blob) and ECDSA points (by curve and point).
///
/// The bytes fully determine the verdict, and the same key or certificate often appears in
/// many files (every host of a fleet) or several times in one file; an ECDSA point check or
/// a signature verification costs more than parsing the rest of the line. Bounded: cleared
/// when full.
final class VerificationCache<Value: Sendable>: @unchecked Sendable {
  private var entries: [BytesKey: Result<Value, KeyError>] = [:]
  private var mutex = pthread_mutex_t()
  private let limit: Int

  init(limit: Int) {
    self.limit = limit
    pthread_mutex_init(&mutex, nil)
  }

  deinit { pthread_mutex_destroy(&mutex) }

  /// The cached verdict for `blob`, or computes it with `check` and stores it.
  func verdict(for blob: [UInt8], _ check: () throws(KeyError) -> Value) throws(KeyError) -> Value {
    pthread_mutex_lock(&mutex)
    let cached = entries[BytesKey(bytes: blob)]
    pthread_mutex_unlock(&mutex)
    if let cached { return try cached.get() }
    let result: Result<Value, KeyError>
    do {
      result = .success(try check())
    } catch {
      result = .failure(error)
    }
    pthread_mutex_lock(&mutex)
    if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
    entries[BytesKey(bytes: blob)] = result
    pthread_mutex_unlock(&mutex)
    return try result.get()
  }
}

/// The shared caches.
enum VerificationCaches {
  /// Certificate blob -> (signature algorithm, verified cryptographically).
  static let certificates = VerificationCache<SignatureVerdict>(limit: 4096)
  /// Curve tag and point bytes -> valid point.
  static let points = VerificationCache<Bool>(limit: 16384)
}

/// The outcome of a certificate signature check.
struct SignatureVerdict: Sendable {
  var algorithm: String
  var verified: Bool
}

/// Bytes as a dictionary key, hashed in bulk rather than byte by byte.
struct BytesKey: Hashable {
  var bytes: [UInt8]

  func hash(into hasher: inout Hasher) {
    bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
  }
}

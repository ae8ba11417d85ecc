import Foundation
import KeywardCore

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Fetches remote key sources over HTTP(S) with Foundation's `URLSession`, and fails closed:
/// any HTTP status but 200, a timeout, a TLS failure, a body cut short or larger than the limit,
/// a redirect away from https, text that is not all keys, and (unless allowed) no key at all,
/// are errors. A fetch never yields part of a list.
public struct KeyFetcher: Sendable {
  /// Seconds without progress before a request fails, and twice that for the whole fetch.
  public var timeout: TimeInterval
  /// The largest body accepted (1 MiB by default; GitHub serves a few hundred bytes a user).
  public var maximumBodySize: Int

  public init(timeout: TimeInterval = 15, maximumBodySize: Int = 1 << 20) {
    self.timeout = timeout
    self.maximumBodySize = maximumBodySize
  }

  /// The keys `source` serves now.
  public func fetch(_ source: KeySource, allowEmpty: Bool = false) async throws(KeySourceError) -> [LockedKey]
  {
    guard let url = URL(string: source.url) else { throw KeySourceError("'\(source.url)' is not a URL") }
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout
    configuration.timeoutIntervalForResource = timeout * 2
    configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
    configuration.urlCache = nil
    configuration.httpCookieStorage = nil
    configuration.httpAdditionalHeaders = ["Accept": "text/plain", "User-Agent": "keyward"]
    let collector = BodyCollector(limit: maximumBodySize)
    let session = URLSession(configuration: configuration, delegate: collector, delegateQueue: nil)
    defer { session.finishTasksAndInvalidate() }
    var request = URLRequest(url: url)
    request.httpMethod = "GET"
    let outcome = await collector.run(session.dataTask(with: request))
    let body = try Self.check(outcome, source: source)
    let keys: [LockedKey]
    do {
      keys = try LockedKey.parseBody(body)
    } catch {
      throw KeySourceError("fetching '\(source)' (\(source.url)) failed: \(error)")
    }
    if keys.isEmpty && !allowEmpty {
      throw KeySourceError(
        "fetching '\(source)' (\(source.url)) failed: it serves no key; an empty set is refused unless 'allow_empty: true'"
      )
    }
    return keys
  }

  static func check(_ outcome: BodyCollector.Outcome, source: KeySource) throws(KeySourceError) -> [UInt8] {
    let what = "fetching '\(source)' (\(source.url))"
    if outcome.tooLarge {
      throw KeySourceError("\(what) failed: the response is larger than the limit")
    }
    if let refused = outcome.refusedRedirect {
      throw KeySourceError(
        "\(what) failed: refused a redirect to '\(KeySource.display(refused))' (only https)")
    }
    if let error = outcome.error {
      throw KeySourceError("\(what) failed: \(describe(error))")
    }
    guard let response = outcome.response as? HTTPURLResponse else {
      throw KeySourceError("\(what) failed: no HTTP response")
    }
    guard response.statusCode == 200 else {
      let hint =
        response.statusCode == 404
        ? " (no such user?)"
        : response.statusCode == 429 || response.statusCode == 403 ? " (rate limited?)" : ""
      throw KeySourceError("\(what) failed: HTTP status \(response.statusCode)\(hint)")
    }
    let expected = response.expectedContentLength
    if expected >= 0 && Int64(outcome.body.count) != expected {
      throw KeySourceError(
        "\(what) failed: the response was cut short (\(outcome.body.count) of \(expected) bytes)")
    }
    return outcome.body
  }

  static func describe(_ error: any Error) -> String {
    let nsError = error as NSError
    switch nsError.code {
    case NSURLErrorTimedOut: return "timed out"
    case NSURLErrorCannotConnectToHost: return "cannot connect to the server"
    case NSURLErrorNetworkConnectionLost: return "the connection was lost (the response was cut short)"
    case NSURLErrorCannotFindHost: return "cannot find the server"
    case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateUntrusted,
      NSURLErrorServerCertificateHasBadDate, NSURLErrorServerCertificateHasUnknownRoot,
      NSURLErrorServerCertificateNotYetValid, NSURLErrorClientCertificateRejected:
      return "TLS failed: the server's certificate is not trusted"
    case NSURLErrorUnknown
    where nsError.localizedDescription.contains("SSL") || nsError.localizedDescription.contains("certificate"):
      return "TLS failed (\(KeySource.display(nsError.localizedDescription)))"
    case NSURLErrorUnknown where nsError.localizedDescription.contains("remaining to read"):
      return "the response was cut short (\(KeySource.display(nsError.localizedDescription)))"
    default:
      return "network error \(nsError.code) (\(KeySource.display(nsError.localizedDescription)))"
    }
  }
}

import Foundation
import KeywardCore

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The delegate of one fetch: collects the body up to a limit (cancelling beyond it), refuses
/// redirects that leave https, and resumes the waiting task once when the request ends.
final class BodyCollector: NSObject, URLSessionDataDelegate, @unchecked Sendable {
  struct Outcome: Sendable {
    var body: [UInt8] = []
    var response: URLResponse?
    var error: (any Error)?
    var tooLarge = false
    var refusedRedirect: String?
  }

  private let limit: Int
  private let lock = NSLock()
  private var outcome = Outcome()
  private var continuation: CheckedContinuation<Outcome, Never>?
  private var finished = false

  init(limit: Int) {
    self.limit = limit
  }

  func run(_ task: URLSessionDataTask) async -> Outcome {
    await withCheckedContinuation { continuation in
      lock.withLock { self.continuation = continuation }
      task.resume()
    }
  }

  func urlSession(
    _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
  ) {
    lock.withLock { outcome.response = response }
    completionHandler(.allow)
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
    let over = lock.withLock {
      outcome.body += data
      if outcome.body.count > limit {
        outcome.tooLarge = true
        return true
      }
      return false
    }
    if over { dataTask.cancel() }
  }

  func urlSession(
    _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
  ) {
    let target = request.url?.absoluteString ?? ""
    do {
      try KeySource.checkRedirect(target)
      completionHandler(request)
    } catch {
      lock.withLock { outcome.refusedRedirect = target }
      completionHandler(nil)
    }
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
    let (continuation, result) = lock.withLock { () -> (CheckedContinuation<Outcome, Never>?, Outcome) in
      if error != nil && outcome.error == nil { outcome.error = error }
      if finished { return (nil, outcome) }
      finished = true
      let continuation = self.continuation
      self.continuation = nil
      return (continuation, outcome)
    }
    continuation?.resume(returning: result)
  }
}

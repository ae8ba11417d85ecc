import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A small HTTP(S) server on loopback standing in for github.com and gitlab.com in tests: a
/// Python `http.server` started by the test and stopped by its PID. Each path answers as the
/// route table says (re-read on every request, so a test changes "upstream" by `set`):
/// a status and body, or a fault (a body cut short, a stall past the timeout, a redirect).
public final class KeyServer: @unchecked Sendable {
  /// How one path answers.
  public struct Route: Sendable {
    public var status: Int
    public var body: String
    /// `normal`, `truncate` (claims more bytes than it sends, then closes), `slow` (sends the
    /// headers, then stalls), `redirect` (302 to `location`).
    public var mode: String
    public var location: String?

    public init(status: Int = 200, body: String = "", mode: String = "normal", location: String? = nil) {
      self.status = status
      self.body = body
      self.mode = mode
      self.location = location
    }

    public static func keys(_ lines: [String]) -> Route {
      Route(body: lines.map { $0 + "\n" }.joined())
    }
  }

  public let directory: String
  public let port: Int
  public let scheme: String
  private let pid: pid_t
  private var stopped = false

  /// `http://127.0.0.1:PORT` (or https).
  public var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

  /// Starts the server in `directory`; with `certificate` and `key` (PEM files), it speaks TLS.
  public init(directory: String, certificate: String? = nil, key: String? = nil) throws {
    self.directory = directory
    scheme = certificate == nil ? "http" : "https"
    try Self.script.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
    try "{}".write(toFile: directory + "/routes.json", atomically: true, encoding: .utf8)
    let portFile = directory + "/port"
    unlink(portFile)
    var arguments = ["python3", directory + "/server.py", directory]
    if let certificate, let key { arguments += [certificate, key] }
    var child: pid_t = 0
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(
      &actions, 1, directory + "/server.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_addopen(
      &actions, 2, directory + "/server.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // Test threads block signals; the child starts with none blocked (for its own sake; it is stopped with SIGKILL).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    let status = posix_spawnp(&child, "python3", &actions, &attributes, argv, environ)
    guard status == 0 else { throw ServerError("cannot start python3: \(String(cString: strerror(status)))") }
    pid = child
    var found: Int?
    for _ in 0..<2400 {  // up to 60 s: python starts slowly on a loaded machine
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text) {
        found = value
        break
      }
      usleep(25_000)
    }
    guard let found else {
      kill(child, SIGKILL)
      var ignored: Int32 = 0
      waitpid(child, &ignored, 0)
      let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
      throw ServerError("the test HTTP server did not start: \(log)")
    }
    port = found
  }

  /// Replaces the route table.
  public func set(_ routes: [String: Route]) throws {
    var table: [String: [String: Any]] = [:]
    for (path, route) in routes {
      var entry: [String: Any] = ["status": route.status, "body": route.body, "mode": route.mode]
      if let location = route.location { entry["location"] = location }
      table[path] = entry
    }
    let data = try JSONSerialization.data(withJSONObject: table)
    try data.write(to: URL(fileURLWithPath: directory + "/routes.json"), options: .atomic)
  }

  /// The paths requested so far, in order.
  public var requests: [String] {
    let text = (try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map(String.init)
  }

  /// Stops the server (by its PID) and waits for it.
  public func stop() {
    guard !stopped, kill(pid, SIGKILL) == 0 else { return }
    stopped = true
    var status: Int32 = 0
    waitpid(pid, &status, 0)
  }

  deinit { stop() }

  public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
  }

  static let script = #"""
    import json, os, socket, ssl, sys, time
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

    directory = sys.argv[1]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args):
            pass
        def do_GET(self):
            with open(os.path.join(directory, "requests.log"), "a") as log:
                log.write(self.path + "\n")
            with open(os.path.join(directory, "routes.json")) as f:
                routes = json.load(f)
            route = routes.get(self.path, {"status": 404, "body": "Not Found"})
            body = route.get("body", "").encode()
            mode = route.get("mode", "normal")
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", route["location"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(route.get("status", 200))
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            if mode == "truncate":
                self.send_header("Content-Length", str(len(body) + 100))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "slow":
                self.wfile.flush()
                time.sleep(30)
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if len(sys.argv) > 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(directory, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
    server.serve_forever()
    """#
}

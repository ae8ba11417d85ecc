import Foundation

/// Runs the built `keyward` executable, as a user would, and captures what it prints.
public struct KeywardProcess {
  public struct Result: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  /// The `keyward` binary beside the test bundle (`swift build` puts both in the same directory).
  public static var executable: URL {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundle, bundle.deletingLastPathComponent()] {
      let url = candidate.appendingPathComponent("keyward")
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return URL(fileURLWithPath: ".build/debug/keyward")
  }

  @discardableResult
  public static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil)
    throws -> Result
  {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently so neither can fill up and block the child.
    let errBox = DataBox()
    let done = DispatchSemaphore(value: 0)
    Thread {
      errBox.data = err.fileHandleForReading.readDataToEndOfFile()
      done.signal()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    done.wait()
    let errData = errBox.data
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}

/// Holds bytes read on another thread; the semaphore orders the accesses.
final class DataBox: @unchecked Sendable {
  var data = Data()
}

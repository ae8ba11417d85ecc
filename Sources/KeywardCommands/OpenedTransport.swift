import KeywardCore

/// The transport a command made, closed when the command ends on whatever path (`defer`), so
/// no `ssh` master outlives the command.
final class OpenedTransport {
  private var channel: (any Transport)?

  /// Makes the command's transport (at most once: later calls return the same one).
  func make(_ options: TransportOptions, hosts: [String: HostSpec]) throws -> any Transport {
    if let channel { return channel }
    let made = try options.makeTransport(hosts: hosts)
    channel = made
    return made
  }

  func close() {
    if let channel { TransportOptions.close(channel) }
    channel = nil
  }
}

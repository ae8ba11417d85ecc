import Foundation

/// Dates as keyward writes them, always in UTC: the one formatter behind run records, lock
/// files, plan messages and backup names.
public enum UTCTime {
  /// `2026-11-30T13:42:46Z` (RFC 3339), or with `fractionalSeconds` `2026-11-30T13:42:46.123Z`.
  public static func timestamp(_ date: Date, fractionalSeconds: Bool = false) -> String {
    formatter(fractionalSeconds: fractionalSeconds).string(from: date)
  }

  /// The date a ``timestamp(_:fractionalSeconds:)`` of the same form names, or nil.
  public static func date(timestamp text: String, fractionalSeconds: Bool = false) -> Date? {
    formatter(fractionalSeconds: fractionalSeconds).date(from: text)
  }

  /// `2026-11-30`: the day `date` falls on.
  public static func day(_ date: Date) -> String {
    let parts = components(Int(date.timeIntervalSince1970))
    return "\(parts.year)-\(two(parts.month))-\(two(parts.day))"
  }

  /// `20261130T134246Z`: a second since the epoch, compact (backup file names).
  public static func compact(seconds: Int) -> String {
    let parts = components(seconds)
    return "\(parts.year)\(two(parts.month))\(two(parts.day))T"
      + "\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
  }

  private static func formatter(fractionalSeconds: Bool) -> ISO8601DateFormatter {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions =
      fractionalSeconds ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter
  }

  private static func components(_ seconds: Int) -> (
    year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
  ) {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    return (
      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
      Int(parts.tm_min), Int(parts.tm_sec)
    )
  }

  private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

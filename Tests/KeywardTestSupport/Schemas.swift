import Foundation

/// The repository's JSON schemas.
public enum Schemas {
  public static func path(_ name: String) -> String { Fleet.packageRoot + "/schemas/" + name }
}

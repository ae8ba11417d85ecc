// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "keyward",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "keyward", targets: ["keyward"]),
    .library(name: "AuthorizedKeys", targets: ["AuthorizedKeys"]),
    .library(name: "KeywardCore", targets: ["KeywardCore"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibYAML", pkgConfig: "yaml-0.1",
      providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]),
    .systemLibrary(
      name: "CLibSSH2", pkgConfig: "libssh2",
      providers: [.apt(["libssh2-1-dev"]), .brew(["libssh2"])]),
    // SFTP v3 client over any byte stream (pure; no C, no I/O of its own).
    .target(name: "SFTP", exclude: ["README.md"]),
    .target(
      name: "AuthorizedKeys",
      dependencies: [.product(name: "Crypto", package: "swift-crypto")], exclude: ["README.md"]),
    .target(
      name: "KeywardCore",
      dependencies: [
        "AuthorizedKeys", "SFTP", "CLibYAML", .product(name: "Crypto", package: "swift-crypto"),
      ],
      exclude: ["README.md", "FileSystem/README.md"]),
    .target(
      name: "KeywardSSH",
      dependencies: ["KeywardCore", "AuthorizedKeys", "CLibSSH2"], exclude: ["README.md"]),
    // The OpenSSH-client transport: the system's `ssh` (ControlMaster) carrying keyward's SFTP client.
    .target(
      name: "KeywardOpenSSH", dependencies: ["KeywardCore", "AuthorizedKeys", "SFTP"], exclude: ["README.md"]),
    // Fetches remote key sources (github:, gitlab:, url:) with Foundation's URLSession.
    .target(name: "KeywardSources", dependencies: ["KeywardCore"], exclude: ["README.md"]),
    .target(
      name: "KeywardCommands",
      dependencies: [
        "AuthorizedKeys", "KeywardCore", "KeywardSSH", "KeywardOpenSSH", "KeywardSources",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      exclude: ["README.md"]),
    .executableTarget(name: "keyward", dependencies: ["KeywardCommands"], exclude: ["README.md"]),
    // The properties the libFuzzer targets check (Fuzz/, scripts/fuzz); the test suite replays
    // the seed corpus and every saved crash through them.
    .target(
      name: "FuzzChecks", dependencies: ["AuthorizedKeys", "KeywardCore", "SFTP"], path: "Fuzz/Checks",
      exclude: ["README.md"]),
    // Test helpers shared by the test targets (temporary roots, test keys, running the CLI).
    .target(
      name: "KeywardTestSupport", dependencies: ["AuthorizedKeys", "KeywardCore"],
      path: "Tests/KeywardTestSupport"),
    .testTarget(name: "AuthorizedKeysTests", dependencies: ["AuthorizedKeys", "KeywardTestSupport"]),
    .testTarget(
      name: "KeywardCoreTests", dependencies: ["KeywardCore", "AuthorizedKeys", "KeywardTestSupport"]),
    .testTarget(
      name: "KeywardSSHTests",
      dependencies: ["KeywardSSH", "KeywardOpenSSH", "KeywardCore", "AuthorizedKeys", "KeywardTestSupport"]),
    .testTarget(name: "SFTPTests", dependencies: ["SFTP", "KeywardCore", "KeywardTestSupport"]),
    .testTarget(
      name: "KeywardCommandsTests",
      dependencies: ["KeywardCommands", "KeywardCore", "AuthorizedKeys", "KeywardTestSupport"]),
    .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzChecks"]),
  ],
  swiftLanguageModes: [.v6]
)

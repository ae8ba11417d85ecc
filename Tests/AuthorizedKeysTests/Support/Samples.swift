/// Fixed sample keys (made once with ssh-keygen) used as inputs of table tests that do not
/// need ssh-keygen at run time. Their fingerprints are never hard-coded: conformance
/// tests check fingerprints against ssh-keygen itself.
enum Samples {
  static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILZzres37X7DuETdKaaK74Zucy2NruOtdy+LECknpu+O"
  static let ed25519Blob = "AAAAC3NzaC1lZDI1NTE5AAAAILZzres37X7DuETdKaaK74Zucy2NruOtdy+LECknpu+O"
  static let rsa1024Blob =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDK+8SLHttc9em+Pafz4YXLgMgDdZMkSlYCfXNAmVH0RQlF6T9BaX911Shmt9xf2wEn"
    + "+MfuuA3zgia7aPEB3fc1ABQ0MHqm4BhYR9Zyn5A3omDZjBk6fKydrbLVgSpFDrfKL+hy2gVy2fm4xmQTzzrRIWNGqk/ehQ5o"
    + "Vl0WEDTPyw=="
  static let rsa1024 = "ssh-rsa " + rsa1024Blob
  static let ecdsa256 =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLzpSuwtLsrDn6Wjt4TnZj3Ejb"
    + "+bTjTlgKpwHg2/UvivQ4lu3Uvj8HsigrUFNW1VH3uE2woqZL8ssMQmX2pJ8Zc="
}

import Testing

extension Tag {
  /// Starts real sshd hosts (`Fleet`): needs root, sshd and unshare; skipped by
  /// `scripts/test --unit`, always run by `scripts/test` and CI.
  @Tag public static var fleet: Self
  /// Runs many processes (the keyward binary, ssh-keygen, ssh, sshd -T, servers): correct
  /// without root but slow; skipped by `scripts/test --unit`.
  @Tag public static var processes: Self
}

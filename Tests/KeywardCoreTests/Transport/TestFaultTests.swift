import KeywardCore
import Testing

/// `KEYWARD_TEST_FAULT` as the local and both SSH write paths read it (one parser for three).
struct TestFaultTests {
  @Test(arguments: [
    ("ssh-after-lock", "ssh-", SafeReplace.Checkpoint.afterLock, true),
    ("ssh-after-lock", "ssh-", .afterTemp, false),
    ("ssh-after-temp", "ssh-", .afterTemp, true),
    ("ssh-before-rename", "ssh-", .beforeRename, true),
    ("ssh-write-offset:4096", "ssh-", .writing(offset: 4096, total: 9000), true),
    ("ssh-write-offset:4096", "ssh-", .writing(offset: 4095, total: 9000), false),
    ("ssh-write-offset:4096", "ssh-", .beforeRename, false),
    ("before-rename", "", .beforeRename, true),
    ("after-lock", "", .afterLock, true),
  ])
  func hits(value: String, prefix: String, checkpoint: SafeReplace.Checkpoint, expected: Bool) throws {
    let fault = try #require(TestFault(value, prefix: prefix))
    #expect(fault.hits(checkpoint) == expected)
  }

  @Test(arguments: [
    ("before-rename", "ssh-"),  // a local fault is not an SSH one
    ("ssh-before-rename", ""),  // nor the other way round
    ("ssh-write-offset:x", "ssh-"),
    ("ssh-somewhere", "ssh-"),
    ("", ""),
  ])
  func namesNoFault(value: String, prefix: String) {
    #expect(TestFault(value, prefix: prefix) == nil)
  }
}

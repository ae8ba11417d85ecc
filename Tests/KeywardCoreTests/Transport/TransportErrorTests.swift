import KeywardCore
import Testing

@Suite("TransportError codes and steps")
struct TransportErrorTests {
  /// The codes after which the session to the host was kept, as the string list had them.
  static let sessionKeeping: Set<String> = [
    "symlink-refused", "user-unknown", "not-a-file", "invalid-path", "verify-failed", "locked",
    "ownership-refused", "cannot-act-as-user", "permission-denied", "not-a-directory", "no-home",
    "too-large", "symlink-dangling", "mode-refused", "login-check-failed",
  ]

  @Test(arguments: TransportError.Code.allCases)
  func keepsTheSessionOnlyForOneTargetsOwnFailures(code: TransportError.Code) {
    #expect(code.keepsSession == Self.sessionKeeping.contains(code.rawValue), "\(code)")
  }

  @Test(arguments: TransportError.Step.allCases)
  func aStepsOwnFailureCodeIsItsNameWithFailed(step: TransportError.Step) {
    #expect(step.failureCode.rawValue == step.rawValue + "-failed")
  }

  @Test func codesAndStepsAreDistinctKebabCaseWords() {
    for raw in TransportError.Code.allCases.map(\.rawValue) + TransportError.Step.allCases.map(\.rawValue) {
      #expect(raw.allSatisfy { $0.isLowercase || $0 == "-" } && !raw.hasPrefix("-"), "\(raw)")
    }
    #expect(Set(TransportError.Code.allCases.map(\.rawValue)).count == TransportError.Code.allCases.count)
    print(
      "transport error codes: \(TransportError.Code.allCases.count), steps: \(TransportError.Step.allCases.count)"
    )
  }

  @Test func theMessageNamesHostStepCauseAndCode() {
    let error = TransportError(
      code: .sshdModelFailed, host: "web1", step: .sshdModel, message: "sshd -T failed")
    #expect(error.description == "web1: sshd-model: sshd -T failed [sshd-model-failed]")
    #expect("\(error.step)" == "sshd-model")
  }
}

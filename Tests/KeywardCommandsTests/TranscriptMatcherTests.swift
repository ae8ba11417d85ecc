import KeywardTestSupport
import Testing

/// The comparison behind `DocTranscriptFleetTests`: what it forgives (fingerprints, elisions) and
/// what it must not (a changed word, a missing or extra line), so the document test can fail.
struct TranscriptMatcherTests {
  @Test(arguments: [
    (["a", "b"], ["a", "b"], true),
    (["a", "b"], ["a", "c"], false),
    (["a"], ["a", "b"], false),
    (["a", "b"], ["a"], false),
    (["a", "…", "d"], ["a", "b", "c", "d"], true),
    (["a", "...", "d"], ["a", "d"], true),
    (["a", "...", "d"], ["a", "b"], false),
    (["x SHA256:KhypFdhS… y"], ["x SHA256:QqM+3ipkAbCdEf0123456789/+abcdefghijklmnopq y"], true),
    (["key AAAAC3NzaC1lZDI1NTE5AAAAIFvcT5Pw c"], ["key AAAAC3NzaC1lZDI1NTE5AAAAIOtherMaterial0123 c"], true),
    (["digest=sha256:3b053e7bb836f5f2"], ["digest=sha256:00aa11bb22cc33dd44ee"], true),
    (["restored: ..."], ["restored: lab3: verify: failed"], true),
    (["restored: ..."], ["rolled back: lab3"], false),
    (["ab…ba"], ["aba"], false),
    (["trailing  "], ["trailing"], true),
  ])
  func matches(expected: [String], actual: [String], match: Bool) {
    #expect((TranscriptMatcher.mismatch(expected: expected, actual: actual) == nil) == match)
  }

  @Test func readsStepsDirectivesAndSkips() {
    let text = """
      <!-- doc-test setup
      echo set up
      -->
      ```
      $ keyward plan keys \\
          --detailed-exitcode
      line one
      …

      $ echo $?
      2
      ```
      <!-- doc-test skip: needs the internet -->
      ```text
      $ keyward lock keys/
      ```
      ```yaml
      $ not: a transcript
      ```
      """
    let (setup, transcripts) = DocTranscript.parse(text, file: "doc.md")
    #expect(setup == "echo set up")
    #expect(transcripts.count == 2)
    #expect(transcripts[0].steps.map(\.command) == ["keyward plan keys  --detailed-exitcode", "echo $?"])
    #expect(transcripts[0].steps.map(\.expected) == [["line one", "…"], ["2"]])
    #expect(transcripts[0].steps.map(\.line) == [5, 10])
    #expect(transcripts[0].skipReason == nil)
    #expect(transcripts[1].skipReason == "needs the internet")
  }
}

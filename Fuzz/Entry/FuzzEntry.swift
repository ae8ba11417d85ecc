import FuzzChecks

// The libFuzzer entry point, compiled once per target by `scripts/fuzz` together with a
// generated file that defines `check` as `FuzzChecks.targets[TARGET]`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  check(bytes)
  return 0
}

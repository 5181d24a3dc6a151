import UNetTensor
import UNetTrain
import _UNetSupport

/// Seconds of each of `repeats` runs of `body`, after one warm-up run.
func timedRuns(repeats: Int, _ body: () throws -> Void) rethrows -> [Double] {
    try body()
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = monotonicSeconds()
        try body()
        times.append(monotonicSeconds() - start)
    }
    return times
}

/// Median wall time of `repeats` runs of `body` after one warm-up run.
func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    SegmentationMetrics.median(try timedRuns(repeats: repeats, body))
}

/// `text` followed by spaces up to `width` characters (at least one space).
func padded(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(1, width - text.count))
}

/// A benchmark figure for JSON: three decimals, `null` when not finite.
func benchNumber(_ value: Double) -> JSONValue {
    value.isFinite ? .number((value * 1000).rounded() / 1000) : .null
}

#if canImport(Glibc)
import Glibc
#endif

/// Seconds from an arbitrary fixed point (CLOCK_MONOTONIC).
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

import CUNetSegTypes

// C progress callbacks as the Swift closures the library's long operations take.

/// A `(done, total) -> go on` closure calling `callback` with `userData`; without a callback, always true.
func progressClosure(_ callback: unetseg_progress_callback?, _ userData: UnsafeMutableRawPointer?) -> (Int, Int) -> Bool {
    guard let callback else { return { _, _ in true } }
    return { done, total in callback(Int64(done), Int64(total), userData) }
}

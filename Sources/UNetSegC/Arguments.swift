import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

// Checking what C passes in (pointers, shapes, sizes, strings) and writing what goes back into the
// caller's buffers. Every check throws `invalidArgument` with a message naming the argument.

/// `pointer`, or an error naming `argument` when it is NULL.
func nonNull<Pointer>(_ pointer: Pointer?, _ argument: String) throws(UnetsegError) -> Pointer {
    guard let pointer else { throw .invalidArgument("\(argument) is NULL") }
    return pointer
}

/// A shape from the caller's `ndim` sizes at `shape` (`argument` names it): `ndim` in
/// 0...UNETSEG_MAX_NDIM (`shape` may be NULL for 0), every size > 0, or -1 for at most one size when
/// `allowInferred`, and an element count without overflow. Sizes are not checked against memory here:
/// allocation does that.
func shapeArgument(_ shape: UnsafePointer<Int64>?, _ ndim: Int32, _ argument: String = "shape",
                   allowInferred: Bool = false) throws(UnetsegError) -> [Int] {
    try checkArgument(ndim >= 0 && ndim <= UNETSEG_MAX_NDIM, "ndim must be in 0...\(UNETSEG_MAX_NDIM), got \(ndim)")
    guard ndim > 0 else { return [] }
    let sizes = Array(UnsafeBufferPointer(start: try nonNull(shape, argument), count: Int(ndim))).map { Int($0) }
    let described = Shape.describe(sizes)
    if allowInferred {
        try checkArgument(sizes.allSatisfy { $0 > 0 || $0 == -1 } && sizes.filter { $0 == -1 }.count <= 1,
                    "\(argument) \(described): sizes must be > 0, with at most one -1")
    } else {
        try checkArgument(sizes.allSatisfy { $0 > 0 }, "\(argument) \(described): sizes must be > 0")
    }
    try checkArgument(Shape.elementCount(sizes.map { abs($0) }) != nil, "\(argument) \(described) has too many elements")
    return sizes
}

/// An index into `count` items (`argument` names it).
func indexArgument(_ index: Int32, count: Int, _ argument: String = "index") throws(UnetsegError) -> Int {
    try checkArgument(index >= 0 && Int(index) < count, "\(argument) \(index) is outside 0..<\(count)")
    return Int(index)
}

/// A file path from C: non-NULL, non-empty, valid UTF-8.
func pathArgument(_ path: UnsafePointer<CChar>?, _ argument: String = "path") throws(UnetsegError) -> String {
    guard let text = String(validatingCString: try nonNull(path, argument)) else {
        throw .invalidArgument("\(argument) is not valid UTF-8")
    }
    try checkArgument(!text.isEmpty, "\(argument) is empty")
    return text
}

/// Copies `count` floats from `source` into the caller's `buffer` of `capacity` floats (`argument`).
func copyOut(_ source: UnsafePointer<Float>, count: Int, to buffer: UnsafeMutablePointer<Float>?,
             capacity: Int64, _ argument: String) throws(UnetsegError) {
    let buffer = try nonNull(buffer, argument)
    try checkArgument(capacity >= Int64(count), "\(argument) holds \(capacity) floats, \(count) are needed")
    buffer.update(from: source, count: count)
}

/// Copies `text` and a terminating NUL into the caller's `buffer` of `capacity` bytes, or throws when it
/// does not fit (saying how many bytes are needed).
func copyOut(_ text: String, to buffer: UnsafeMutablePointer<CChar>?, capacity: UInt,
             _ argument: String) throws(UnetsegError) {
    let buffer = try nonNull(buffer, argument)
    let bytes = Array(text.utf8)
    try checkArgument(UInt(bytes.count) < capacity,
                "\(argument) holds \(capacity) bytes, \(bytes.count + 1) are needed (with the NUL)")
    for (i, byte) in bytes.enumerated() { buffer[i] = CChar(bitPattern: byte) }
    buffer[bytes.count] = 0
}

/// Writes `text` into a fixed-size C char array (`storage`), truncated to fit with its NUL.
func writeTruncated<Storage>(_ text: String, into storage: inout Storage) {
    withUnsafeMutableBytes(of: &storage) { raw in
        guard !raw.isEmpty else { return }
        let bytes = text.utf8.prefix(raw.count - 1)
        var end = 0
        for byte in bytes { raw[end] = byte; end += 1 }
        for i in end..<raw.count { raw[i] = 0 }
    }
}

/// An index into `count` items given as int64_t (`argument` names it).
func indexArgument(_ index: Int64, count: Int, _ argument: String = "index") throws(UnetsegError) -> Int {
    try checkArgument(index >= 0 && index < Int64(count), "\(argument) \(index) is outside 0..<\(count)")
    return Int(index)
}

/// An epoch number: >= 0 (training counts from 1).
func epochArgument(_ epoch: Int64) throws(UnetsegError) -> Int {
    try checkArgument(epoch >= 0 && epoch <= Int64(Int32.max), "epoch must be in 0...\(Int32.max), got \(epoch)")
    return Int(epoch)
}

/// An optional folder or file path from a params struct: NULL or "" give nil.
func optionalPathArgument(_ path: UnsafePointer<CChar>?, _ argument: String) throws(UnetsegError) -> String? {
    guard let path, path.pointee != 0 else { return nil }
    return try pathArgument(path, argument)
}

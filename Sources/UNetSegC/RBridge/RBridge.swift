import CUNetSegTypes
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

// The R bridge: the `unetseg_r_*` family, the functions R calls through `.C`, and their plumbing. It is a
// layer over the Swift core in the same library, beside the pointer API (Sources/UNetSegC), not on top of
// it; its prototypes are generated into bindings/R/unetseg_r.h, which `make install` does not install.
//
// The rule, for every R function: one route. An R shim converts R's arguments with the helpers below
// (`rTensor`, `rObject`, `rInt`, `doubleFromR`, `rSeed`, `rPath`, ...), calls the same Swift helper the
// pointer API's function calls (`unetseg_model_params.makeModel`, `ModelHandle.forward`,
// `RandomAugmentation`, ...; each says "the work of unetseg_..."), which holds all the validation, and
// returns new objects with `rReturn` or `rReturnPair`, all inside one `rCall`. It never calls a fallible
// `unetseg_*` pointer-API function (one returning a status) to rebuild an error from its status; the
// infallible ones (`unetseg_*_default_params`, `unetseg_status_string`) are plain values and may be used.
// When the work you need is inline in a pointer-API function, move it into such a helper next to that
// function first and call it from both. See CONTRIBUTING.md, "The R bridge".
//
// `.C` passes only `int *`, `double *` and `char **` and returns nothing, so every R function takes pointers
// only and ends with `char **message, int *status`: `*status` is a `unetseg_status` and `*message` the
// library's message when it is not OK. R owns all the buffers; it sizes `*message` (and any other string
// output) beforehand by passing a string of that many characters, so the capacity of a `char **` output is
// its incoming length plus the NUL. Handles are R integers: the value of the same handle the pointer API
// uses (a number from the `Handles` registry, never an address), so R objects and C objects are the same
// live objects, counted by `unetseg_live_handle_count`. R's doubles become float32 inside.

/// R's `char **` argument: one string, allocated by R.
public typealias RString = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

/// Runs `body`, the work of the R function `function`, and reports its outcome to R: `*status` the status
/// code and `*message` the message ("" when OK), truncated to the buffer R passed.
func rCall(_ message: RString?, _ status: UnsafeMutablePointer<Int32>?, function: String = #function,
           _ body: () throws(UnetsegError) -> Void) {
    let code = withStatus(function, body)
    status?.pointee = code
    if let buffer = message?.pointee {
        let text = code == UNETSEG_STATUS_OK.code ? "" : String(cString: LastError.current)
        writeMessage(text, into: buffer, capacity: strlen(buffer) + 1)
    }
}

/// Copies `text` and a NUL into `buffer` of `capacity` bytes, cut at a UTF-8 character boundary to fit.
func writeMessage(_ text: String, into buffer: UnsafeMutablePointer<CChar>, capacity: Int) {
    guard capacity > 0 else { return }
    var bytes = Array(text.utf8.prefix(capacity - 1))
    if bytes.count < text.utf8.count {
        // Drop a character cut in half: continuation bytes (10xxxxxx) and the lead byte before them.
        while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
        if let last = bytes.last, last & 0x80 != 0 { bytes.removeLast() }
    }
    for (i, byte) in bytes.enumerated() { buffer[i] = CChar(bitPattern: byte) }
    buffer[bytes.count] = 0
}

// MARK: - Handles

/// Registers `object` and returns its handle as an R integer. Handles are never reused; the (theoretical)
/// handle past R's integer range is released again and reported.
func rRegister<T: HandleTarget>(_ object: T, sharingLockWith other: UnsafeRawPointer? = nil) throws(UnetsegError) -> Int32 {
    let handle = try Handles.register(object, sharingLockWith: other)
    let value = UInt(bitPattern: handle)
    guard value <= UInt(Int32.max) else {
        Handles.release(UnsafeRawPointer(handle), T.self, #function)
        throw .outOfMemory("handle numbers exhausted for R (\(value) does not fit an R integer); restart R")
    }
    return Int32(value)
}

/// Stores a new handle to `object` in `*out` (the caller's `argument`); `*out` is 0 unless this succeeds.
/// Calls on the new handle are serialised with those on the R handle at `other` when given (see
/// `Handles.register`: the schedule of an optimiser).
func rReturn<T: HandleTarget>(_ object: @autoclosure () throws(UnetsegError) -> T, to out: UnsafeMutablePointer<Int32>?,
                              _ argument: String, sharingLockWith other: UnsafePointer<Int32>? = nil) throws(UnetsegError) {
    let out = try nonNull(out, argument)
    out.pointee = 0
    out.pointee = try rRegister(try object(), sharingLockWith: other.flatMap { UnsafeRawPointer(bitPattern: Int($0.pointee)) })
}

/// Stores new handles to `first` and `second` (an image and its mask) in `*outFirst` and `*outSecond` (the
/// caller's `firstArgument` and `secondArgument`); both are 0 unless both succeed.
func rReturnPair(_ first: Tensor, _ second: Tensor, to outFirst: UnsafeMutablePointer<Int32>?, _ firstArgument: String,
                 _ outSecond: UnsafeMutablePointer<Int32>?, _ secondArgument: String) throws(UnetsegError) {
    let a = try nonNull(outFirst, firstArgument), b = try nonNull(outSecond, secondArgument)
    (a.pointee, b.pointee) = (0, 0)
    let firstHandle = try rRegister(first)
    do throws(UnetsegError) {
        b.pointee = try rRegister(second)
    } catch {
        rRelease([firstHandle], Tensor.self, function: #function)
        throw error
    }
    a.pointee = firstHandle
}

/// The `T` behind the R integer handle at `handle` (the caller's `argument`); throws for 0 (a freed R
/// object), a handle that is not live and one of another type.
func rObject<T: HandleTarget>(_ handle: UnsafePointer<Int32>?, _ type: T.Type, _ argument: String) throws(UnetsegError) -> T {
    let value = try nonNull(handle, argument).pointee
    try checkArgument(value != 0, "\(argument) was freed (handle 0)")
    return try Handles.object(UnsafeRawPointer(bitPattern: Int(value)), type, argument)
}

/// Frees the R integer handle at `handle` if it is a live `T` (0 and dead handles are ignored, as by the
/// pointer API's `_free` functions).
func rRelease<T: HandleTarget>(_ handle: UnsafePointer<Int32>?, _ type: T.Type, function: String) {
    guard let value = handle?.pointee, value != 0 else { return }
    Handles.release(UnsafeRawPointer(bitPattern: Int(value)), type, function)
}

/// The tensor behind an R handle.
func rTensor(_ handle: UnsafePointer<Int32>?, _ argument: String = "tensor") throws(UnetsegError) -> Tensor {
    try rObject(handle, Tensor.self, argument)
}

/// The model behind an R handle.
func rModel(_ handle: UnsafePointer<Int32>?) throws(UnetsegError) -> ModelHandle {
    try rObject(handle, ModelHandle.self, "model")
}

// MARK: - Values

/// The R integer at `pointer` (the caller's `argument`).
func rInt(_ pointer: UnsafePointer<Int32>?, _ argument: String) throws(UnetsegError) -> Int {
    Int(try nonNull(pointer, argument).pointee)
}

/// The R logical at `pointer` (an R integer: 0 FALSE, else TRUE; NA is refused by `.C` before).
func rBool(_ pointer: UnsafePointer<Int32>?, _ argument: String) throws(UnetsegError) -> Bool {
    try nonNull(pointer, argument).pointee != 0
}

/// The R double at `pointer`, from R into Swift (see `doubleForR` for the other direction).
func doubleFromR(_ pointer: UnsafePointer<Double>?, _ argument: String) throws(UnetsegError) -> Double {
    try nonNull(pointer, argument).pointee
}

/// The R double at `pointer` as float32 (R's doubles become float32 inside).
func rFloat(_ pointer: UnsafePointer<Double>?, _ argument: String) throws(UnetsegError) -> Float {
    Float(try doubleFromR(pointer, argument))
}

/// A seed from an R double: a whole number in 0...2^53 (the integers a double holds exactly).
func rSeed(_ pointer: UnsafePointer<Double>?, _ argument: String = "seed") throws(UnetsegError) -> UInt64 {
    let value = try doubleFromR(pointer, argument)
    try checkArgument(value.isFinite && value >= 0 && value <= 0x1p53 && value.rounded() == value,
                "\(argument) must be a whole number in 0...2^53, got \(rNumber(value))")
    return UInt64(value)
}

/// `value` as R prints it: a whole number without ".0".
func rNumber(_ value: Double) -> String {
    value.rounded() == value && abs(value) < 0x1p53 ? String(Int64(value)) : String(value)
}

/// A float32 setting as a double for R, from Swift to R (see `doubleFromR` for the other direction), with
/// the float's shortest decimal form (0.6, not 0.6000000238).
func doubleForR(_ value: Float) -> Double {
    Double(String(value)) ?? Double(value)
}

/// A count or index from an R double: a whole number in 0...2^53.
func rCount(_ pointer: UnsafePointer<Double>?, _ argument: String) throws(UnetsegError) -> Int {
    Int(try rSeed(pointer, argument))
}

/// A file or folder path from R's string at `string` (the caller's `argument`), checked as `pathArgument`.
func rPath(_ string: RString?, _ argument: String) throws(UnetsegError) -> String {
    try pathArgument(UnsafePointer(try nonNull(string, argument).pointee), argument)
}

/// Copies `text` into the string R pre-sized at `string` (the caller's `argument`), or throws when it
/// does not fit, saying how many characters R must pass.
func rWrite(_ text: String, to string: RString?, _ argument: String) throws(UnetsegError) {
    let buffer = try nonNull(try nonNull(string, argument).pointee, argument)
    try copyOut(text, to: buffer, capacity: UInt(strlen(buffer) + 1), argument)
}

/// A shape from R's `ndim` integers at `shape` (see `shapeArgument`).
func rShape(_ shape: UnsafePointer<Int32>?, _ ndim: UnsafePointer<Int32>?, allowInferred: Bool = false) throws(UnetsegError) -> [Int] {
    let rank = try rInt(ndim, "ndim")
    try checkArgument(rank >= 0 && rank <= Int(UNETSEG_MAX_NDIM), "ndim must be in 0...\(UNETSEG_MAX_NDIM), got \(rank)")
    let sizes = rank == 0 ? [] : UnsafeBufferPointer(start: try nonNull(shape, "shape"), count: rank).map { Int64($0) }
    return try sizes.withUnsafeBufferPointer { buffer throws(UnetsegError) in
        try shapeArgument(buffer.baseAddress, Int32(rank), allowInferred: allowInferred)
    }
}

/// Copies `count` floats at `source` into R's `capacity` doubles at `out` (the caller's `argument`).
func rCopyOut(_ source: UnsafePointer<Float>, count: Int, to out: UnsafeMutablePointer<Double>?,
              capacity: UnsafePointer<Double>?, _ argument: String) throws(UnetsegError) {
    let buffer = try nonNull(out, argument)
    let room = try rCount(capacity, "capacity")
    try checkArgument(room >= count, "\(argument) holds \(room) numbers, \(count) are needed")
    for i in 0..<count { buffer[i] = Double(source[i]) }
}

import CTIFF
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor
import _UNetSupport

/// Removes libtiff's process-wide error and warning handlers, which print to stderr. A global `let` is
/// initialised once, thread-safely, on first use.
private let globalHandlersSilenced: Void = ctiff_silence_global_handlers()

/// An open libtiff file whose errors and warnings are captured per file (libtiff 4.5 `TIFFOpenOptions`
/// handlers writing into a buffer owned here), so concurrent files each get their own messages and nothing
/// is printed. Closes the file when released.
final class CapturingTIFF {
    /// The path, for messages.
    let path: String
    /// The libtiff handle (`TIFF *`).
    let handle: OpaquePointer
    /// The messages libtiff reported so far; must outlive `handle`.
    private let messages: UnsafeMutablePointer<CTIFFMessages>

    /// Largest single allocation libtiff may make for one file: one uncompressed strip of the largest image
    /// accepted (4 samples of 2 bytes).
    static let maximumLibTIFFAllocation = TIFFFile.maximumDimension * TIFFFile.maximumDimension * 8

    /// Opens `fd` (already open on `path`) with libtiff in `mode` ("r", "wl", "wb"...). On success the
    /// returned object owns `fd` (closed with the file); on failure the caller still owns it.
    init(fd: Int32, path: String, mode: String, failure: (String) -> UnetsegError) throws(UnetsegError) {
        _ = globalHandlersSilenced
        self.path = path
        messages = .allocate(capacity: 1)
        messages.initialize(to: CTIFFMessages())
        guard let options = ctiff_capturing_open_options(messages, tmsize_t(Self.maximumLibTIFFAllocation))
        else {
            messages.deallocate()
            throw .outOfMemory("cannot allocate libtiff options to open '\(path)'")
        }
        let opened = TIFFFdOpenExt(fd, path, mode, options)
        TIFFOpenOptionsFree(options)
        guard let opened else {
            let error = failure(Self.withLibTIFFMessages("libtiff could not open it", messages))
            messages.deallocate()
            throw error
        }
        handle = opened
    }

    /// Whether `close()` has not been called yet.
    private var isOpen = true

    deinit {
        close()
        messages.deallocate()
    }

    /// Closes the file (and its descriptor) now rather than when released; later calls do nothing.
    func close() {
        if isOpen { TIFFClose(handle) }
        isOpen = false
    }

    /// Number of errors libtiff reported so far.
    var errorCount: Int { Int(messages.pointee.errorCount) }

    /// `reason`, followed by what libtiff reported, if anything.
    func describe(_ reason: String) -> String { Self.withLibTIFFMessages(reason, messages) }

    private static func withLibTIFFMessages(_ reason: String,
                                            _ messages: UnsafeMutablePointer<CTIFFMessages>) -> String {
        let length = min(messages.pointee.length, MemoryLayout.size(ofValue: messages.pointee.text) - 1)
        guard length > 0 else { return reason }
        let text = withUnsafeBytes(of: &messages.pointee.text) {
            String(decoding: $0.prefix(length), as: UTF8.self)
        }
        return "\(reason) (libtiff: \(text))"
    }

    /// The value of a tag holding one 16-bit value (libtiff's default when absent), or nil.
    func uint16(_ tag: Int32) -> UInt16? {
        var value: UInt16 = 0
        return ctiff_get_uint16(handle, UInt32(tag), &value) == 1 ? value : nil
    }

    /// The value of a tag holding one 32-bit value (libtiff's default when absent), or nil.
    func uint32(_ tag: Int32) -> UInt32? {
        var value: UInt32 = 0
        return ctiff_get_uint32(handle, UInt32(tag), &value) == 1 ? value : nil
    }

    /// Sets a SHORT tag; false if libtiff refused it.
    func set(_ tag: Int32, uint16 value: UInt16) -> Bool { ctiff_set_uint16(handle, UInt32(tag), value) == 1 }

    /// Sets a LONG tag; false if libtiff refused it.
    func set(_ tag: Int32, uint32 value: UInt32) -> Bool { ctiff_set_uint32(handle, UInt32(tag), value) == 1 }
}

/// `strerror(code)` as a Swift string.
func systemErrorDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

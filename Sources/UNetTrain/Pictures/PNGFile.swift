import CPNG
import UNetTensor
import _UNetSupport

/// Writes canvases as 8-bit RGB PNG files with libpng's simplified API.
public enum PNGFile {
    /// Writes `canvas` to `path`: encoded in memory, then written atomically (a temporary file with a name
    /// of its own in the same folder, flushed, closed with errors checked, renamed; see
    /// `FileSystem.writeAtomically`), so concurrent writers of one path each leave a whole file.
    public static func write(_ canvas: Canvas, to path: String) throws(UnetsegError) {
        try FileSystem.writeAtomically(try encode(canvas, path: path), to: path)
    }

    /// The PNG file's bytes for `canvas`; `path` is for messages.
    static func encode(_ canvas: Canvas, path: String) throws(UnetsegError) -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(canvas.width)
        image.height = UInt32(canvas.height)
        image.format = UInt32(PNG_FORMAT_RGB)
        let stride = Int32(canvas.width * 3)
        var size = 0
        var bytes: [UInt8] = []
        let ok = canvas.pixels.withUnsafeBytes { pixels -> Int32 in
            guard png_image_write_to_memory(&image, nil, &size, 0, pixels.baseAddress, stride, nil) != 0 else { return 0 }
            bytes = [UInt8](repeating: 0, count: size)
            return bytes.withUnsafeMutableBytes { out in
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, pixels.baseAddress, stride, nil)
            }
        }
        guard ok != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            png_image_free(&image)
            throw .io("cannot write \(path): cannot encode PNG: \(message)")
        }
        return Array(bytes.prefix(size))
    }
}

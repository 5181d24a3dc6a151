import CPNG
#if canImport(Glibc)
import Glibc
#endif
import UNetTensor

/// Writes canvases as 8-bit RGB PNG files with libpng's simplified API.
public enum PNGFile {
    /// Writes `canvas` to `path` (through a temporary file in the same folder, then renamed).
    public static func write(_ canvas: Canvas, to path: String) throws(UnetsegError) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(canvas.width)
        image.height = UInt32(canvas.height)
        image.format = UInt32(PNG_FORMAT_RGB)
        let temporary = path + ".tmp"
        let ok = canvas.pixels.withUnsafeBytes { bytes in
            png_image_write_to_file(&image, temporary, 0, bytes.baseAddress, Int32(canvas.width * 3), nil)
        }
        guard ok != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            png_image_free(&image)
            unlink(temporary)
            throw .io("\(path): cannot write PNG: \(message)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .io("\(path): cannot write PNG (rename failed)")
        }
    }
}

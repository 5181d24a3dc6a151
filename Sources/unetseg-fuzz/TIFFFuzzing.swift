import UNetData
import UNetTensor

/// TIFF decoding of an arbitrary file: a raster consistent with its size, or an error naming the file.
enum TIFFFuzzing {
    static func run(_ input: [UInt8], scratch: ScratchFolder) throws(FuzzViolation) {
        let path = scratch.file("input.tif")
        try ScratchFolder.write(input, to: path)
        let raster: Raster
        do { raster = try TIFFFile.read(path) } catch { return try requireNamed(path, in: error) }
        let limit = TIFFFile.maximumDimension
        guard (1...limit).contains(raster.width), (1...limit).contains(raster.height),
              raster.width * raster.height <= TIFFFile.maximumPixels else {
            throw FuzzViolation("decoded a \(raster.width)×\(raster.height) raster, outside the TIFF limits")
        }
        guard raster.samples.count == raster.width * raster.height * raster.channels else {
            throw FuzzViolation("a \(raster.width)×\(raster.height)×\(raster.channels) raster holds \(raster.samples.count) samples")
        }
    }
}

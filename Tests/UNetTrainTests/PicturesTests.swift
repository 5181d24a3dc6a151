import CCairo
import Dispatch
import Testing
@testable import UNetTrain
import UNetData
import UNetNN
import UNetTensor
import _TestSupport
import _UNetSupport

/// A PNG file read back with Cairo: its size and its pixels as 0x00RRGGBB, or nil when Cairo cannot read it.
func decodePNG(_ bytes: [UInt8]) -> (width: Int, height: Int, pixels: [UInt32])? {
    final class Source { var bytes: [UInt8] = []; var offset = 0 }
    let source = Source()
    source.bytes = bytes
    guard let surface = cairo_image_surface_create_from_png_stream({ closure, data, length in
        guard let closure, let data else { return CAIRO_STATUS_READ_ERROR }
        let s = Unmanaged<Source>.fromOpaque(closure).takeUnretainedValue()
        guard s.offset + Int(length) <= s.bytes.count else { return CAIRO_STATUS_READ_ERROR }
        for k in 0..<Int(length) { data[k] = s.bytes[s.offset + k] }
        s.offset += Int(length)
        return CAIRO_STATUS_SUCCESS
    }, Unmanaged.passUnretained(source).toOpaque()) else { return nil }
    defer { cairo_surface_destroy(surface) }
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface) else { return nil }
    let width = Int(cairo_image_surface_get_width(surface)), height = Int(cairo_image_surface_get_height(surface))
    let stride = Int(cairo_image_surface_get_stride(surface))
    var pixels: [UInt32] = []
    for y in 0..<height {
        let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
        for x in 0..<width { pixels.append(row[x] & 0xFFFFFF) }
    }
    return (width, height, pixels)
}

/// The pictures: PNG files Cairo reads back at the expected size, whole under concurrent writers, errors
/// naming the file, content that follows the input.
@Suite struct PicturesTests {
    func volume(_ patient: String, dice truthVoxels: Int, _ intersection: Int) -> VolumeScores {
        var overlap = SegmentationMetrics.Overlap()
        overlap.truth = truthVoxels; overlap.predicted = truthVoxels; overlap.intersection = intersection
        return VolumeScores(patient: patient, overlap: overlap, hausdorff95: 3, diagonal: 100)
    }

    /// Eight writers of one path at once, each drawing its own picture with Cairo, all succeed; the file left is exactly
    /// one of them, a PNG Cairo reads at its size, and no temporary file remains.
    @Test func concurrentWritersOfOnePathEachLeaveAWholeFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("loss_curves.png")
        @Sendable func drawing(_ i: Int) throws(UnetsegError) -> Drawing {
            let drawing = try Drawing(width: 64 + i, height: 48)
            drawing.line(0, 0, Double(63 + i), Double(i * 5), Drawing.Color(i * 30, 0, 0), thickness: 2)
            drawing.text("\(i)", x: 4, y: 40)
            return drawing
        }
        let encodings = try (0..<8).map { (i) throws(UnetsegError) in try drawing(i).pngBytes(for: path) }
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            do throws(UnetsegError) {
                try drawing(i % 8).write(to: path)
            } catch {
                failures.withLock { $0.append(error.message) }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let written = try FileSystem.readBytes(path)
        #expect(encodings.contains(written))
        let decoded = try #require(decodePNG(written))
        #expect((64...71).contains(decoded.width) && decoded.height == 48)
        #expect(try FileSystem.listDirectory(folder.path) == ["loss_curves.png"])
    }

    @Test func aWriteErrorNamesTheFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("missing/predictions.png")
        do throws(UnetsegError) {
            try Drawing(width: 4, height: 4).write(to: path)
            Issue.record("wrote into a missing folder")
        } catch {
            #expect(error == .io(error.message) && error.message.contains(path), "\(error)")
        }
    }

    /// Sizes Cairo cannot take are refused before it is asked, naming the size; a drawing that fails inside
    /// `Pictures.write` is an error naming the file.
    @Test func impossibleSizesAreRefused() throws {
        for (w, h) in [(0, 10), (10, -1), (Drawing.maximumSide + 1, 2), (Int.max, Int.max)] {
            #expect(performing: { try Drawing(width: w, height: h) }, throws: { error in
                guard case .invalidArgument(let message)? = error as? UnetsegError else { return false }
                return message.contains("\(w)×\(h)")
            })
        }
        let folder = try TemporaryFolder()
        let path = folder.file("broken.png")
        #expect(performing: {
            try Pictures.write(to: path) { () throws(UnetsegError) in throw .internal("cairo ran out of luck") }
        }, throws: { ($0 as? UnetsegError)?.message.contains(path) == true })
        #expect(!FileSystem.exists(path))
    }

    /// Lines with absurd or non-finite ends neither hang nor trap, and the visible part is drawn.
    @Test func linesFarOutsideTheDrawingAreClipped() throws {
        let drawing = try Drawing(width: 20, height: 10)
        drawing.line(-1e12, 5, 1e12, 5, .black, thickness: 2)
        drawing.line(0, 0, .nan, 3, .black)
        drawing.line(-1e300, 1, 1e300, 1, .black)
        drawing.line(5, -1e15, 5, 1e15, .black, thickness: 3)
        drawing.text("far", x: .infinity, y: 3)
        #expect(Drawing.clip(-1e12, 5, 1e12, 5, to: (0, 0, 20, 10)).map { $0.0 == 0 && $0.2 == 20 } == true)
        #expect(Drawing.clip(30, 30, 40, 40, to: (0, 0, 20, 10)) == nil)
        let picture = try #require(decodePNG(try drawing.pngBytes(for: "clipped.png")))
        #expect(picture.pixels[5 * 20 + 12] & 0xFF < 64 && picture.pixels[8 * 20 + 5] & 0xFF < 64)
        #expect(picture.pixels[8 * 20 + 15] == 0xFFFFFF)
    }

    /// Text is drawn with a real font: some pixels of the text's box are neither white nor black
    /// (anti-aliased) and the box is not blank.
    @Test func textIsAntiAliased() throws {
        let drawing = try Drawing(width: 120, height: 30)
        drawing.text("Dice 0.83", x: 4, y: 22, size: 18)
        let picture = try #require(decodePNG(try drawing.pngBytes(for: "text.png")))
        let levels = Set(picture.pixels.map { $0 & 0xFF })
        #expect(levels.contains { $0 < 100 } && levels.contains { $0 > 20 && $0 < 235 })
    }

    /// The per-volume Dice chart: one row per patient at the expected size, a valid PNG, whose content
    /// changes with a patient's Dice.
    @Test func volumeDiceChartFollowsItsInput() throws {
        let volumes = [volume("TCGA_A", dice: 100, 90), volume("TCGA_B", dice: 100, 40), volume("TCGA_C", dice: 100, 75)]
        let chart = try Pictures.volumeDiceChart(volumes)
        #expect(chart.height == 64 + 60 + 3 * 20)
        let left = chart.width - 560 - 60   // room for the longest patient id
        #expect(left > 60 && left < 300)
        let first = try #require(decodePNG(try chart.pngBytes(for: "volume_dice.png")))
        #expect(first.width == chart.width && first.height == chart.height)
        var changed = volumes
        changed[1] = volume("TCGA_B", dice: 100, 20)
        let second = try #require(decodePNG(try Pictures.volumeDiceChart(changed).pngBytes(for: "volume_dice.png")))
        #expect(first.pixels != second.pixels)
        // Sorted best first: the top bar (Dice 0.9) passes 0.85, the bottom one (Dice 0.4) stops before 0.65.
        #expect(first.pixels[(64 + 10) * first.width + left + 476] != 0xFFFFFF)
        #expect(first.pixels[(64 + 50) * first.width + left + 364] == 0xFFFFFF)
        #expect(first.pixels[(64 + 50) * first.width + left + 200] != 0xFFFFFF)
        #expect(try Pictures.volumeDiceChart([]).height == 64 + 60 + 20)
    }

    /// Loss curves change when a loss does.
    @Test func lossCurvesFollowTheirInput() throws {
        func report(_ losses: [Double]) -> [EpochReport] {
            losses.enumerated().map { i, v in
                EpochReport(epoch: i + 1, train: LossSummary(bce: 0.5, dice: 0.4, loss: v), valid: nil, learningRate: 0.1, seconds: 1)
            }
        }
        let a = try #require(decodePNG(try Pictures.lossCurves(report([0.9, 0.5, 0.3])).pngBytes(for: "a.png")))
        let b = try #require(decodePNG(try Pictures.lossCurves(report([0.9, 0.7, 0.3])).pngBytes(for: "b.png")))
        #expect(a.width == 900 && a.height == 560 && a.pixels != b.pixels)
    }

    /// Outlines follow the mask's pixel edges: a 4×4 square outlined on a 16×16 slice (drawn 16 times larger)
    /// colours its border and leaves its middle and the outside gray.
    @Test func outlinesFollowTheMask() throws {
        let flair = [Float](repeating: 0.5, count: 256)
        var truth = [Float](repeating: 0, count: 256)
        for y in 4..<8 { for x in 4..<8 { truth[y * 16 + x] = 1 } }
        let empty = [Float](repeating: 0, count: 256)
        let drawing = try Pictures.outlines([(flair, truth, empty)], labels: ["slice 1"], width: 16, height: 16)
        let picture = try #require(decodePNG(try drawing.pngBytes(for: "outline.png")))
        #expect(picture.width == 256 + 12 && picture.height == Int(256 + 18 + 6 + 6))
        func pixel(_ x: Double, _ y: Double) -> UInt32 { picture.pixels[Int(18 + y * 16) * picture.width + Int(6 + x * 16)] }
        #expect(pixel(4, 6) & 0x00FF00 > 0x008000 && pixel(4, 6) >> 16 < 0x80)   // left edge: green
        #expect(pixel(6, 6) == 0x808080 && pixel(12, 12) == 0x808080)               // middle, outside: gray
        let moved = truth.indices.map { truth[($0 + 2) % 256] }
        let other = try #require(decodePNG(try Pictures.outlines([(flair, moved, empty)], labels: ["slice 1"], width: 16,
                                                                 height: 16).pngBytes(for: "outline.png")))
        #expect(other.pixels != picture.pixels)
    }

    /// The FLAIR shown beside the masks spans black to white whatever the normalisation: a per-volume
    /// z-scored image (values outside [0, 1]) is stretched for display, not clipped to a white blob.
    @Test(arguments: [IntensityNormalization.minmax, .zscore, .percentile])
    func displayedFlairSpansBlackToWhite(normalization: IntensityNormalization) throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 1, slices: 2, size: 16)
        let dataset = try BrainSegDataset(root: folder.path, normalization: normalization)
        var generator = RandomGenerator(seed: 4)
        let model = try UNet(UNetConfig(depth: 2, nFilters: 1), generator: &generator)
        for item in try Pictures.predictions(model, dataset, [0, 1]) {
            #expect(item.flair.min() == 0)
            #expect(abs((item.flair.max() ?? 0) - 1) < 1e-4)
        }
    }
}

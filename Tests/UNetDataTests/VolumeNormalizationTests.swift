import Testing
import UNetData
import UNetTensor
import _TestSupport
import _UNetSupport

/// Per-patient volume normalisation: exact statistics, invariance to the scanner's scale and offset,
/// degenerate volumes, determinism under parallel loading, and the option's names and codes.
@Suite struct VolumeNormalizationTests {
    /// Two 2×2 slices of three channels (8-bit values). Channel 2 is constant.
    static let knownVolume = [
        Raster(width: 2, height: 2, channels: 3, samples: [10, 20, 30, 40, /**/ 0, 0, 100, 200, /**/ 5, 5, 5, 5]),
        Raster(width: 2, height: 2, channels: 3, samples: [50, 60, 70, 80, /**/ 255, 0, 50, 50, /**/ 5, 5, 5, 5]),
    ]

    @Test func zscoreStatisticsOfAKnownVolume() throws {
        let s = try VolumeNormalization.statistics(of: Self.knownVolume, method: .zscore, source: "known")
        #expect(s.clip == nil)
        // Channel 0: 10, 20, ..., 80: mean 45; deviations ±5, ±15, ±25, ±35 twice: variance
        // 2 (25 + 225 + 625 + 1225) / 8 = 525, standard deviation √525 = 22.9128784747792.
        // Channel 1: 0, 0, 100, 200, 255, 0, 50, 50: mean 655 / 8 = 81.875; numpy's v.std() = 91.10219193301553.
        // Channel 2: all 5: mean 5, deviation 0.
        #expect(s.means == [45, 81.875, 5])
        #expect(abs(s.deviations[0] - 525.0.squareRoot()) < 1e-12)
        #expect(abs(s.deviations[1] - 91.10219193301553) < 1e-12)
        #expect(s.deviations[2] == 0)
    }

    @Test func percentileStatisticsOfAKnownVolume() throws {
        let s = try VolumeNormalization.statistics(of: Self.knownVolume, method: .percentile, source: "known")
        // All 24 values sorted: 0, 0, 0, 5 (×8), 10, 20, ..., 255. numpy.percentile (linear): p10 at virtual
        // index 0.1 · 23 = 2.3, between sorted[2] = 0 and sorted[3] = 5: 1.5; p99 at 22.77, between
        // sorted[22] = 200 and sorted[23] = 255: 255 − 55 · 0.23 = 242.35.
        let clip = try #require(s.clip)
        #expect(abs(clip.lowerBound - 1.5) < 1e-12 && abs(clip.upperBound - 242.35) < 1e-12)
        // Clipped, channel 1 is 1.5, 1.5, 100, 200, 242.35, 1.5, 50, 50: mean 646.85 / 8 = 80.85625;
        // numpy's std of the clipped values 87.63447323078687. Channels 0 and 2 lie inside the bounds.
        #expect(s.means[0] == 45 && abs(s.means[1] - 80.85625) < 1e-12 && s.means[2] == 5)
        #expect(abs(s.deviations[0] - 525.0.squareRoot()) < 1e-12)
        #expect(abs(s.deviations[1] - 87.63447323078687) < 1e-12)
        #expect(s.deviations[2] == 0)
    }

    @Test func applyingClipsCentresAndDividesAConstantChannelByOne() throws {
        let s = try VolumeNormalization.statistics(of: Self.knownVolume, method: .percentile, source: "known")
        let image = try SliceImage.rawImageTensor(Self.knownVolume[1], source: "known")
        VolumeNormalization.apply(s, to: image)
        let v = image.toArray()
        // Channel 0: (50 − 45) / √525; channel 1, first pixel 255 clipped to 242.35: (242.35 − 80.85625) /
        // 87.63447323078687 = 1.8428...; channel 2 (deviation 0, divided by 1): 5 − 5 = 0.
        #expect(abs(Double(v[0]) - 5 / 525.0.squareRoot()) < 1e-6)
        #expect(abs(Double(v[4]) - (242.35 - 80.85625) / 87.63447323078687) < 1e-6)
        #expect(v[8..<12].allSatisfy { $0 == 0 })
    }

    @Test func constantVolumeBecomesZerosNotNaN() throws {
        let folder = try TemporaryFolder()
        let id = "TCGA_CC_0001_20000101"
        try FileSystem.makeDirectories(folder.file(id))
        for k in 1...2 {
            try TIFFFile.write(Raster(width: 8, height: 8, channels: 3, samples: .init(repeating: 77, count: 192)),
                               to: folder.file("\(id)/\(id)_\(k).tif"))
            try TIFFFile.write(Raster(width: 8, height: 8, channels: 1, samples: .init(repeating: 0, count: 64)),
                               to: folder.file("\(id)/\(id)_\(k)_mask.tif"))
        }
        for method in [IntensityNormalization.zscore, .percentile] {
            let ds = try BrainSegDataset(root: folder.path, normalization: method)
            #expect(try ds.item(1).image.toArray().allSatisfy { $0 == 0 }, "\(method)")
        }
    }

    /// Writes one patient's slices: `TinyDataset`'s values `x`, rounded, as `scale · x + offset` in 16-bit TIFFs.
    static func writePatient(to root: String, scale: Float, offset: Float) throws {
        let id = "TCGA_TT_2000_20000101"
        try FileSystem.makeDirectories(FileSystem.joined(root, id))
        var generator = RandomGenerator(seed: 5)
        for k in 1...3 {
            var (image, mask) = TinyDataset.slice(size: 16, lesion: k != 2, offset: k, generator: &generator)
            image.samples = image.samples.map { scale * $0.rounded() + offset }
            try TIFFFile.write(image, to: FileSystem.joined(root, "\(id)/\(id)_\(k).tif"), options: TIFFWriteOptions(bitsPerSample: 16))
            try TIFFFile.write(mask, to: FileSystem.joined(root, "\(id)/\(id)_\(k)_mask.tif"))
        }
    }

    @Test func normalisedImagesIgnoreTheScannersScaleAndOffset() throws {
        let plain = try TemporaryFolder(), scaled = try TemporaryFolder()
        try Self.writePatient(to: plain.path, scale: 1, offset: 0)
        try Self.writePatient(to: scaled.path, scale: 200, offset: 1000)
        for method in [IntensityNormalization.zscore, .percentile] {
            let a = try BrainSegDataset(root: plain.path, normalization: method)
            let b = try BrainSegDataset(root: scaled.path, normalization: method)
            for i in 0..<a.count {
                let x = try a.item(i).image.toArray(), y = try b.item(i).image.toArray()
                #expect(zip(x, y).allSatisfy { abs($0 - $1) < 1e-4 }, "\(method), slice \(i)")
            }
        }
    }

    @Test func theDefaultIsThePostsPerSliceMinMax() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 2, slices: 2)
        let ds = try BrainSegDataset(root: folder.path)
        #expect(ds.normalization == .minmax)
        for i in 0..<ds.count {
            #expect(try ds.item(i).image.toArray() == (try SliceImage.loadImage(ds.slices[i].imagePath).toArray()))
        }
    }

    @Test func zscoredChannelsHaveMeanZeroAndDeviationOneOverTheVolume() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 2, slices: 3)
        let ds = try BrainSegDataset(root: folder.path, normalization: .zscore)
        for patient in [0, 1] {
            let images = try (0..<3).map { k in try ds.item(3 * patient + k).image.toArray() }
            for c in 0..<3 {
                let values = images.flatMap { $0[c * 256..<(c + 1) * 256] }.map(Double.init)
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-4, "patient \(patient), channel \(c)")
            }
        }
    }

    @Test func parallelLoadingGivesTheSameBatchesForAnyWorkerCount() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 3, slices: 4)
        var batches: [[Float]] = []
        for workers in [0, 1, 3] {
            let ds = try BrainSegDataset(root: folder.path, augmentation: AugmentationParameters(), randomSampling: true,
                                         seed: 4, normalization: .percentile)
            let loader = try DataLoader(source: ds, batchSize: 5, workers: workers, seed: 4)
            let iterator = loader.makeIterator(epoch: 1)
            var all: [Float] = []
            while let batch = try iterator.next() { all += batch.images.toArray() }
            batches.append(all)
        }
        #expect(batches[0] == batches[1] && batches[0] == batches[2])
    }

    @Test func namesAndCodes() throws {
        #expect(try IntensityNormalization(named: "percentile") == .percentile)
        #expect { try IntensityNormalization(named: "z-score") } throws: {
            ($0 as? UnetsegError)?.message.contains("minmax, zscore, percentile") == true
        }
        #expect(try IntensityNormalization.allCases.map { try IntensityNormalization(code: $0.code, "f") } == IntensityNormalization.allCases)
        #expect { try IntensityNormalization(code: 3, "params->normalization") } throws: {
            ($0 as? UnetsegError)?.message.contains("params->normalization") == true
        }
    }
}

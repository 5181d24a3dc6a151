import Testing
import Glibc
import UNetData
import UNetTensor
import _TestSupport
import _UNetSupport

/// The kaggle_3m dataset: discovery, pairing, ordering, scaling, weights, sampling and errors.
@Suite struct BrainSegDatasetTests {
    @Test func findsPairsOrdersNumericallyAndIgnoresOtherFiles() throws {
        let folder = try TemporaryFolder()
        let ids = try TinyDataset.write(to: folder.path, patients: 2, slices: 11)
        try FileSystem.writeTextAtomically("id,grade\n", to: folder.file("data.csv"))
        try FileSystem.writeTextAtomically("readme", to: folder.file("README.md"))
        try FileSystem.writeTextAtomically("x", to: FileSystem.joined(folder.file(ids[0]), ".DS_Store"))
        let ds = try BrainSegDataset(root: folder.path)
        #expect(ds.count == 22)
        #expect(ds.slices.prefix(11).map(\.number) == Array(1...11))
        #expect(ds.slices[0].patient == ids[0] && ds.slices[11].patient == ids[1])
        #expect(ds.slices[9].imagePath.hasSuffix("\(ids[0])_10.tif"))
        #expect(ds.slices[9].maskPath.hasSuffix("\(ids[0])_10_mask.tif"))
        let (image, mask) = try ds.item(1)
        #expect(image.shape == [3, 16, 16] && mask.shape == [1, 16, 16])
        let values = image.toArray()
        #expect(values.min()! >= 0 && values.max()! <= 1 && values.min()! < 0.01 && values.max()! > 0.99)
        #expect(Set(mask.toArray()).isSubset(of: [0, 1]))
        #expect(ds.slices[1].lesionPixels == 25, "slice 2 of patient 0 has a 5×5 lesion")
    }

    @Test func weightsAndSamplingFavourLesions() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 2, slices: 4)
        let ds = try BrainSegDataset(root: folder.path, randomSampling: true, seed: 3)
        let total = Double(ds.slices.map(\.lesionPixels).reduce(0, +))
        for (w, s) in zip(ds.weights, ds.slices) {
            #expect(abs(w - (Double(s.lesionPixels) + 0.1 * total / 8) / (1.1 * total)) < 1e-12)
        }
        var lesionDraws = 0
        for i in 0..<400 where ds.slices[ds.sliceIndex(for: i % ds.count, epoch: i / ds.count)].lesionPixels > 0 {
            lesionDraws += 1
        }
        #expect(lesionDraws > 330, "lesion slices carry ~91% of the weight, got \(lesionDraws)/400")
        #expect(try ds.item(3, epoch: 2).image.toArray() == (try ds.item(3, epoch: 2).image.toArray()))
    }

    @Test func augmentationIsDeterministicPerEpochAndIndex() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.path, patients: 1, slices: 2)
        let ds = try BrainSegDataset(root: folder.path, augmentation: AugmentationParameters(), seed: 9)
        #expect(try ds.item(0, epoch: 1).image.toArray() == (try ds.item(0, epoch: 1).image.toArray()))
        #expect(try ds.item(0, epoch: 1).image.toArray() != (try ds.item(0, epoch: 2).image.toArray()))
    }

    @Test func grayscaleImagesAndZeroOneMasksAreAccepted() throws {
        let folder = try TemporaryFolder()
        let dir = folder.file("TCGA_AA_0001_20000101")
        try FileSystem.makeDirectories(dir)
        let gray = Raster(width: 8, height: 8, channels: 1, samples: (0..<64).map { Float($0) })
        let mask = Raster(width: 8, height: 8, channels: 1, samples: (0..<64).map { $0 < 8 ? 1 : 0 })
        try TIFFFile.write(gray, to: dir + "/TCGA_AA_0001_20000101_1.tif")
        try TIFFFile.write(mask, to: dir + "/TCGA_AA_0001_20000101_1_mask.tif")
        let ds = try BrainSegDataset(root: folder.path)
        let (image, m) = try ds.item(0)
        let v = image.toArray()
        #expect(Array(v[0..<64]) == Array(v[64..<128]) && Array(v[0..<64]) == Array(v[128..<192]))
        #expect(m.toArray().reduce(0, +) == 8 && ds.slices[0].lesionPixels == 8)
    }

    @Test func errorsNameTheFile() throws {
        let folder = try TemporaryFolder()
        let ids = try TinyDataset.write(to: folder.path, patients: 1, slices: 3)
        let dir = folder.file(ids[0])
        let orphan = FileSystem.joined(dir, "\(ids[0])_9.tif")
        try TIFFFile.write(Raster(width: 16, height: 16, channels: 3, samples: .init(repeating: 1, count: 768)), to: orphan)
        #expect { try BrainSegDataset(root: folder.path) } throws: { ($0 as? UnetsegError)?.message.contains(orphan) == true }
        _ = unlink(orphan)
        let badMask = FileSystem.joined(dir, "\(ids[0])_2_mask.tif")
        try FileSystem.writeTextAtomically("not a tiff", to: badMask)
        #expect { try BrainSegDataset(root: folder.path) } throws: { ($0 as? UnetsegError)?.message.contains(badMask) == true }
        try TIFFFile.write(Raster(width: 8, height: 8, channels: 1, samples: .init(repeating: 0, count: 64)), to: badMask)
        #expect { try BrainSegDataset(root: folder.path) } throws: { ($0 as? UnetsegError)?.message.contains("8×8") == true }
        #expect(throws: UnetsegError.self) { try BrainSegDataset(root: folder.file("missing")) }
        let empty = try TemporaryFolder()
        #expect(throws: UnetsegError.self) { try BrainSegDataset(root: empty.path) }
    }

    @Test func sliceFileNames() {
        #expect(SliceFileName("TCGA_CS_4941_19960909_12.tif") == SliceFileName("TCGA_CS_4941_19960909_12.tif"))
        let mask = SliceFileName("TCGA_CS_4941_19960909_3_mask.tif")
        #expect(mask?.patient == "TCGA_CS_4941_19960909" && mask?.slice == 3 && mask?.isMask == true)
        #expect(SliceFileName("data.csv") == nil && SliceFileName("notes.tif") == nil && SliceFileName("_3.tif") == nil)
    }
}

/// Slices of other sizes: an error by default, resized on request.
@Suite struct BrainSegDatasetResizeTests {
    @Test func mixedSizesNeedResizing() throws {
        let folder = try TemporaryFolder()
        try TinyDataset.write(to: folder.file("a"), patients: 1, slices: 2, size: 16)
        try TinyDataset.write(to: folder.file("b"), patients: 1, slices: 2, size: 24, seed: 2)
        try FileSystem.removeTree(folder.file("b/TCGA_TT_1000_20000101"))  // keep one patient per size
        let ids = try TinyDataset.write(to: folder.file("c"), patients: 2, slices: 2, size: 24, seed: 3)
        try FileSystem.removeTree(FileSystem.joined(folder.file("c"), ids[0]))
        #expect { try BrainSegDataset(root: folder.path) } throws: { ($0 as? UnetsegError)?.message.contains("24×24") == true }
        let ds = try BrainSegDataset(root: folder.path, size: 32)
        #expect(ds.height == 32 && ds.width == 32)
        for i in 0..<ds.count {
            let (image, mask) = try ds.item(i)
            #expect(image.shape == [3, 32, 32] && mask.shape == [1, 32, 32])
            #expect(Set(mask.toArray()).isSubset(of: [0, 1]))
        }
        #expect(throws: UnetsegError.self) { try BrainSegDataset(root: folder.path, size: 2) }
    }

    @Test func resizingKeepsTheLesionInPlace() throws {
        let square = try Tensor((0..<64).map { i in (i / 8 >= 2 && i / 8 < 4 && i % 8 >= 2 && i % 8 < 4) ? 1 : 0 }, shape: [1, 8, 8])
        let big = try SliceImage.resized(square, height: 16, width: 16, nearest: true).toArray()
        #expect(big.reduce(0, +) == 16)
        #expect(big[4 * 16 + 4] == 1 && big[7 * 16 + 7] == 1 && big[8 * 16 + 8] == 0 && big[3 * 16 + 3] == 0)
        let smooth = try SliceImage.resized(try Tensor([0, 1, 0, 1], shape: [1, 2, 2]), height: 4, width: 4, nearest: false).toArray()
        #expect(smooth[0] == 0 && smooth[3] == 1 && abs(smooth[1] - 0.25) < 1e-6)
    }
}

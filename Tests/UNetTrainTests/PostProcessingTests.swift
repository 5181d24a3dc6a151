#if canImport(Glibc)
import Glibc
#endif
import Testing
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _TestSupport
import _UNetSupport

/// Largest-connected-component post-processing on hand-made volumes, and in evaluation and prediction.
@Suite struct PostProcessingTests {
    /// A `d × h × w` volume with the voxels listed (as (z, y, x)) set.
    func volume(_ d: Int, _ h: Int, _ w: Int, _ voxels: [(Int, Int, Int)]) -> [Bool] {
        var mask = [Bool](repeating: false, count: d * h * w)
        for (z, y, x) in voxels { mask[(z * h + y) * w + x] = true }
        return mask
    }

    func largest(_ mask: [Bool], _ d: Int, _ h: Int, _ w: Int) throws -> [Bool] {
        var kept = mask
        try PostProcessing.largestComponent.apply(to: &kept, depth: d, height: h, width: w)
        return kept
    }

    @Test func keepsTheLargestOfSeveralComponents() throws {
        // Three components: 2 voxels in slice 0, 4 voxels spanning slices 1-2 (linked through a face), 1 voxel.
        let small = [(0, 0, 0), (0, 0, 1)]
        let big = [(1, 3, 3), (1, 3, 4), (2, 3, 4), (2, 2, 4)]
        let single = [(2, 0, 4)]
        let mask = volume(3, 5, 5, small + big + single)
        #expect(try largest(mask, 3, 5, 5) == volume(3, 5, 5, big))
    }

    @Test func linksAreThroughFacesOnly() throws {
        // Voxels touching by an edge within a slice, or by a corner across slices, are separate components
        // (6-connectivity): the first one in scan order is kept among these single voxels.
        let diagonal = volume(2, 3, 3, [(0, 0, 0), (0, 1, 1), (1, 2, 2)])
        #expect(try largest(diagonal, 2, 3, 3) == volume(2, 3, 3, [(0, 0, 0)]))
        // A chain through faces across three slices is one component.
        let chain = volume(3, 3, 3, [(0, 1, 1), (1, 1, 1), (2, 1, 1), (2, 1, 2), (0, 2, 2)])
        #expect(try largest(chain, 3, 3, 3) == volume(3, 3, 3, [(0, 1, 1), (1, 1, 1), (2, 1, 1), (2, 1, 2)]))
    }

    @Test func tiesKeepTheFirstComponentInScanOrder() throws {
        // Two components of 3 voxels; the one whose first voxel comes first (slice, row, column) stays.
        let later = [(1, 0, 0), (1, 0, 1), (1, 0, 2)]
        let earlier = [(0, 2, 2), (1, 2, 2), (1, 2, 1)]
        let mask = volume(2, 3, 3, later + earlier)
        #expect(try largest(mask, 2, 3, 3) == volume(2, 3, 3, earlier))
    }

    @Test func emptyAndFullVolumesStayAsTheyAre() throws {
        let empty = [Bool](repeating: false, count: 2 * 4 * 4)
        #expect(try largest(empty, 2, 4, 4) == empty)
        let full = [Bool](repeating: true, count: 2 * 4 * 4)
        #expect(try largest(full, 2, 4, 4) == full)
        #expect(try largest([], 0, 4, 4) == [])
    }

    @Test func noneLeavesTheMaskAndBadShapesAreRefused() throws {
        var mask = volume(1, 3, 3, [(0, 0, 0), (0, 2, 2)])
        let before = mask
        try PostProcessing.none.apply(to: &mask, depth: 1, height: 3, width: 3)
        #expect(mask == before)
        #expect(throws: UnetsegError.self) { try PostProcessing.largestComponent.apply(to: &mask, depth: 2, height: 3, width: 3) }
        #expect(throws: UnetsegError.self) { try PostProcessing(named: "largest") }
        #expect(try PostProcessing(named: "largest-component") == .largestComponent)
    }

    @Test func probabilitiesOutsideTheComponentBecomeZero() throws {
        // 1 × 1 × 5: components {0, 1} and {3}; voxel 2 and 4 are below the threshold and keep their values.
        var probabilities: [Float] = [0.9, 0.7, 0.4, 0.8, 0.2]
        try PostProcessing.largestComponent.apply(toProbabilities: &probabilities, depth: 1, height: 1, width: 5)
        #expect(probabilities == [0.9, 0.7, 0.4, 0, 0.2])
    }

    /// The predicted masks written under `folder` for `patient`'s `slices` slices, stacked as a volume.
    func writtenVolume(_ folder: String, patient: String, slices: Int) throws -> [Bool] {
        var mask: [Bool] = []
        for n in 1...slices {
            let path = FileSystem.joined(FileSystem.joined(folder, patient),
                                         SliceFileName.predictionName(patient: patient, slice: n))
            mask += try TIFFFile.read(path).samples.map { $0 > 127 }
        }
        return mask
    }

    @Test func evaluationAndPredictionScoreAndWriteTheLargestComponent() throws {
        let folder = try TemporaryFolder()
        let data = folder.file("data")
        let (slices, size) = (3, 16)
        let patients = try TinyDataset.write(to: data, patients: 2, slices: slices, size: size, seed: 5)
        var generator = RandomGenerator(seed: 11)
        let model = try UNet(UNetConfig(depth: 2, nFilters: 2, dropout: 0), generator: &generator)
        let dataset = try BrainSegDataset(root: data)
        // Shift the last layer's bias so that about half the voxels of the first slices exceed 0.5: a
        // speckled prediction with many components.
        let first = try Tensor.stack((0..<slices).map { try dataset.load(slice: $0).image })
        model.eval()
        let probabilities = try Autograd.withNoGrad { () throws(UnetsegError) in try model(first) }.toArray().sorted()
        let median = probabilities[probabilities.count / 2]
        let bias = try #require(model.namedParameters().first { $0.name == "last.bias" }?.tensor)
        bias.storage.pointer[0] -= logf(median / (1 - median))
        let raw = try Evaluator.evaluate(model, on: dataset, predictionsDir: folder.file("raw"))
        let kept = try Evaluator.evaluate(model, on: dataset, predictionsDir: folder.file("kept"),
                                          postProcessing: .largestComponent)
        try Predictor.predict(model, input: data, outDir: folder.file("predicted"), postProcessing: .largestComponent)
        var changed = false
        for (k, patient) in patients.enumerated() {
            let rawMask = try writtenVolume(folder.file("raw"), patient: patient, slices: slices)
            let keptMask = try writtenVolume(folder.file("kept"), patient: patient, slices: slices)
            #expect(keptMask == (try largest(rawMask, slices, size, size)))
            #expect(try writtenVolume(folder.file("predicted"), patient: patient, slices: slices) == keptMask)
            #expect(kept.volumes[k].overlap.predicted == keptMask.filter { $0 }.count)
            #expect(raw.volumes[k].overlap.predicted == rawMask.filter { $0 }.count)
            changed = changed || keptMask != rawMask
        }
        #expect(changed, "the untrained model's masks should have more than one component somewhere")
        #expect(kept.bce == raw.bce && kept.diceLoss == raw.diceLoss)
    }
}

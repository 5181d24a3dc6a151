import Testing
import UNetTensor
@testable import UNetData
import _TestSupport
import _UNetSupport

/// The `realistic` style of the synthetic dataset: determinism, the kaggle_3m layout, lesion counts, masks,
/// channel contrasts, noise, and head placement.
@Suite struct RealisticSyntheticTests {
    /// Options of the realistic style at a size the debug build renders quickly.
    static func options(patients: Int = 30, size: Int = 48, seed: UInt64 = 3) throws -> SyntheticDatasetOptions {
        try SyntheticDatasetOptions(patients: patients, minSlices: 20, maxSlices: 30, size: size, seed: seed,
                                    style: .realistic)
    }

    /// Every slice of patient `p`: image samples (3 planes), mask samples and brain mask.
    static func render(_ p: Int, _ options: SyntheticDatasetOptions) -> (SyntheticPhantom, [(image: [Float], mask: [Float], brain: [Float])]) {
        let phantom = SyntheticPhantom(patient: p, options: options)
        let slices = (0..<phantom.sliceCount).map { k in
            let r = phantom.render(slice: k, noise: options.generator(.sliceNoise, p, k), recordBrain: true)
            return (r.image.samples, r.mask.samples, r.brain)
        }
        return (phantom, slices)
    }

    @Test func styleNamesRoundTripAndSimpleIsTheDefault() throws {
        #expect(SyntheticStyle(name: "realistic") == .realistic && SyntheticStyle(name: "simple") == .simple)
        #expect(SyntheticStyle(name: "Realistic") == nil)
        #expect(try SyntheticDatasetOptions().style == .simple)
    }

    /// Adding the realistic style left the simple one as it was: the files of a small simple dataset, hashed
    /// (64-bit FNV-1a over each file's FNV-1a hash, little-endian, in path order), are those the generator wrote
    /// before the style existed (`unetseg synth --patients 3 --size 48 --min-slices 8 --max-slices 8 --seed 5`).
    @Test func theSimpleStyleWritesTheSameFilesAsBeforeTheRealisticOne() throws {
        let folder = try TemporaryFolder()
        try SyntheticDataset.write(to: folder.path, options: try SyntheticDatasetOptions(
            patients: 3, minSlices: 8, maxSlices: 8, size: 48, seed: 5, style: .simple))
        let digest = try FileTreeDigest.of(folder.path)
        var total: UInt64 = 0xcbf2_9ce4_8422_2325
        for path in digest.keys.sorted() {
            guard let hash = digest[path] else { continue }
            for k in 0..<8 { total = (total ^ (hash >> (8 * UInt64(k)) & 0xFF)) &* 0x0000_0100_0000_01b3 }
        }
        #expect(digest.count == 48)
        #expect(total == 0xabfc_a044_0e90_2d32)
    }

    @Test func sameSeedSameFilesAndTheSameLayoutAsTheSimpleStyle() throws {
        let realistic = try Self.options(patients: 3, size: 40, seed: 8)
        let simple = try SyntheticDatasetOptions(patients: 3, minSlices: 20, maxSlices: 30, size: 40, seed: 8)
        let a = try TemporaryFolder(), b = try TemporaryFolder(), c = try TemporaryFolder()
        try SyntheticDataset.write(to: a.path, options: realistic)
        try SyntheticDataset.write(to: b.path, options: realistic)
        try SyntheticDataset.write(to: c.path, options: simple)
        let files = try FileSystem.walk(a.path).map { String($0.dropFirst(a.path.count)) }.sorted()
        #expect(files == (try FileSystem.walk(c.path).map { String($0.dropFirst(c.path.count)) }.sorted()))
        var differsFromSimple = false
        for file in files {
            let bytes = try FileSystem.readBytes(a.path + file)
            #expect(bytes == (try FileSystem.readBytes(b.path + file)), "\(file) differs between two runs")
            if bytes != (try FileSystem.readBytes(c.path + file)) { differsFromSimple = true }
        }
        #expect(differsFromSimple)
        // The dataset scan pairs every slice with its mask.
        let dataset = try BrainSegDataset(root: a.path)
        #expect(dataset.count == realistic.patientList().map(\.sliceCount).reduce(0, +))
        let (image, mask) = try dataset.item(0)
        #expect(image.shape == [3, 40, 40] && mask.shape == [1, 40, 40])
    }

    @Test func zeroToThreeLesionsWithLesionFreePatients() throws {
        let options = try Self.options(patients: 60)
        let counts = (0..<options.patients).map { SyntheticPhantom(patient: $0, options: options).lesionCount }
        #expect(counts.allSatisfy { (0...3).contains($0) })
        for k in 0...3 { #expect(counts.contains(k), "no patient with \(k) lesions: \(counts)") }
        // Lesions are lumpy: more lobes than lesions.
        let lobes = (0..<options.patients).map { SyntheticPhantom(patient: $0, options: options).lesions.count }
        #expect(zip(lobes, counts).allSatisfy { $0 >= 2 * $1 })
    }

    @Test func masksCoverTheLesionSlicesAndNothingElse() throws {
        let options = try Self.options(patients: 12)
        var lesionSlices = 0
        for p in 0..<options.patients {
            let (phantom, slices) = Self.render(p, options)
            var planned = Set<Int>()
            for lobe in phantom.lesions { planned.formUnion(lobe.slices) }
            for (k, slice) in slices.enumerated() {
                #expect(slice.mask.allSatisfy { $0 == 0 || $0 == 255 })
                #expect(slice.mask.contains(255) == planned.contains(k), "patient \(p) slice \(k)")
                #expect(zip(slice.mask, slice.brain).allSatisfy { $0 == 0 || $1 == 1 })
            }
            lesionSlices += planned.count
        }
        #expect(lesionSlices > 0)
    }

    @Test func channelContrastsAreThoseOfMRI() throws {
        let options = try Self.options(patients: 12, size: 64)
        let count = options.size * options.size
        var lesionFlair = 0.0, brainFlair = 0.0, lesionPixels = 0, brainPixels = 0, checked = 0
        for p in 0..<options.patients {
            let (phantom, slices) = Self.render(p, options)
            let k = phantom.sliceCount / 2
            let slice = slices[k]
            func plane(_ c: Int, _ i: Int) -> Double { Double(slice.image[c * count + i]) }
            let brain = (0..<count).filter { slice.brain[$0] == 1 && slice.mask[$0] == 0 }
            for i in brain { brainFlair += plane(1, i) }
            brainPixels += brain.count
            for lesion in slices.map(\.mask).indices {
                for i in 0..<count where slices[lesion].mask[i] == 255 && slices[lesion].brain[i] == 1 {
                    lesionFlair += Double(slices[lesion].image[count + i])
                    lesionPixels += 1
                }
            }
            // CSF (the FLAIR-darkest tenth of the brain) is darker than the rest on pre-contrast too.
            let byFlair = brain.sorted { plane(1, $0) < plane(1, $1) }
            let tenth = byFlair.count / 10
            guard tenth > 10 else { continue }
            let csf = byFlair.prefix(tenth).map { plane(0, $0) }.reduce(0, +) / Double(tenth)
            let rest = byFlair.dropFirst(tenth).map { plane(0, $0) }.reduce(0, +) / Double(byFlair.count - tenth)
            #expect(csf < 0.75 * rest, "patient \(p): pre-contrast CSF \(csf), rest of the brain \(rest)")
            checked += 1
        }
        #expect(checked >= 10 && lesionPixels > 100)
        // Lesions are brighter on FLAIR than the brain around them, on average.
        #expect(lesionFlair / Double(lesionPixels) > 1.15 * brainFlair / Double(brainPixels))
    }

    @Test func backgroundHasRicianNoise() throws {
        let options = try Self.options(patients: 3, size: 64)
        for p in 0..<options.patients {
            let (_, slices) = Self.render(p, options)
            let image = slices[0].image
            // A 6 × 6 patch in the top-left corner, outside the head: dim, never all equal, never negative.
            let patch = (0..<6).flatMap { y in (0..<6).map { x in image[y * options.size + x] } }
            #expect(patch.allSatisfy { $0 >= 0 && $0 < 60 })
            #expect(Set(patch).count > 3, "patient \(p): background \(patch)")
            #expect(patch.contains { $0 > 0 })
        }
    }

    @Test func headsVaryMoreThanInTheSimpleStyle() throws {
        let options = try Self.options(patients: 40)
        let phantoms = (0..<options.patients).map { SyntheticPhantom(patient: $0, options: options) }
        // The simple style tilts at most 0.12 rad (sine 0.1197).
        #expect(phantoms.contains { abs($0.sinRotation) > 0.15 })
        let widths = phantoms.map(\.brainRadiusX)
        #expect(widths.max()! - widths.min()! > 0.05 * Float(options.size))
        #expect(phantoms.contains { $0.biasAmplitude > 0.12 })
    }
}

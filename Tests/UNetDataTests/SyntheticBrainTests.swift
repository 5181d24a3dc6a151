import Testing
import UNetTensor
@testable import UNetData
import _UNetSupport

/// The synthetic LGG-like dataset: options, patient ids, determinism, and the anatomy and lesions of the
/// generated slices.
@Suite struct SyntheticBrainTests {
    /// One patient rendered with its brain mask: per slice the FLAIR-plane-first image, mask and brain mask.
    struct RenderedPatient: Sendable {
        let phantom: SyntheticPhantom
        let slices: [(image: [Float], mask: [Float], brain: [Float])]

        /// Slices whose mask has lesion pixels.
        var lesionSlices: [Int] { slices.indices.filter { slices[$0].mask.contains(255) } }
    }

    /// Twenty patients of the default slice range, rendered once at 48² (debug builds are slow) for the
    /// tests that look at many slices.
    static let sample: [RenderedPatient] = {
        guard let options = try? SyntheticDatasetOptions(patients: 20, size: 48, seed: 11) else { return [] }
        var patients = [RenderedPatient?](repeating: nil, count: options.patients)
        patients.withUnsafeMutableBufferPointer { out in
            Parallel.forEachChunk(out.count, minimumPerThread: 1) { lo, hi in
                for p in lo..<hi { out[p] = render(patient: p, options: options) }
            }
        }
        return patients.compactMap { $0 }
    }()

    static func render(patient: Int, options: SyntheticDatasetOptions) -> RenderedPatient {
        let phantom = SyntheticPhantom(patient: patient, options: options)
        let slices = (0..<phantom.sliceCount).map { k in
            let r = phantom.render(slice: k, noise: options.generator(.sliceNoise, patient, k), recordBrain: true)
            return (r.image.samples, r.mask.samples, r.brain)
        }
        return RenderedPatient(phantom: phantom, slices: slices)
    }

    // MARK: - Options and ids

    @Test func invalidOptionsThrow() {
        func rejects(_ make: () throws -> SyntheticDatasetOptions) -> Bool {
            do { _ = try make(); return false } catch {
                if case .invalidArgument? = error as? UnetsegError { return true }
                return false
            }
        }
        #expect(rejects { try SyntheticDatasetOptions(patients: 0) })
        #expect(rejects { try SyntheticDatasetOptions(patients: 5001) })
        #expect(rejects { try SyntheticDatasetOptions(minSlices: 7) })
        #expect(rejects { try SyntheticDatasetOptions(maxSlices: 89) })
        #expect(rejects { try SyntheticDatasetOptions(minSlices: 30, maxSlices: 29) })
        #expect(rejects { try SyntheticDatasetOptions(size: 31) })
        #expect(rejects { try SyntheticDatasetOptions(size: 1025) })
        #expect(rejects { try SyntheticDatasetOptions(lesionSliceFraction: -0.01) })
        #expect(rejects { try SyntheticDatasetOptions(lesionSliceFraction: 0.71) })
        #expect(rejects { try SyntheticDatasetOptions(lesionSliceFraction: .nan) })
        #expect(!rejects { try SyntheticDatasetOptions(patients: 1, minSlices: 88, maxSlices: 88, size: 32) })
    }

    @Test func outOfRangeIndicesThrow() throws {
        let options = try SyntheticDatasetOptions(patients: 3, minSlices: 8, maxSlices: 8, size: 32)
        #expect(throws: UnetsegError.self) { try options.patientID(3) }
        #expect(throws: UnetsegError.self) { try options.patientID(-1) }
        #expect(throws: UnetsegError.self) { try options.sliceCount(patient: 3) }
        #expect(throws: UnetsegError.self) { try SyntheticBrain.slice(patient: 3, slice: 0, options: options) }
        #expect(throws: UnetsegError.self) { try SyntheticBrain.slice(patient: 0, slice: 8, options: options) }
        #expect(throws: UnetsegError.self) { try SyntheticBrain.slice(patient: 0, slice: -1, options: options) }
        #expect(throws: UnetsegError.self) { try SyntheticBrain.volume(patient: -1, options: options) }
        #expect(try SyntheticBrain.slice(patient: 2, slice: 7, options: options).image.width == 32)
    }

    @Test func idsAreUniqueAndWellFormed() throws {
        let options = try SyntheticDatasetOptions(patients: 5000, seed: 3)
        let patients = options.patientList()
        #expect(patients.count == 5000)
        #expect(Set(patients.map(\.id)).count == 5000)
        for patient in patients.prefix(500) {
            let parts = patient.id.split(separator: "_").map(String.init)
            #expect(parts.count == 4)
            guard parts.count == 4 else { continue }
            #expect(parts[0] == "TCGA")
            #expect(["CS", "DU", "EZ", "FG", "HT"].contains(parts[1]))
            #expect(parts[2].count == 4 && parts[2].allSatisfy(\.isNumber) && parts[2].first != "0")
            let date = parts[3]
            #expect(date.count == 8 && date.allSatisfy(\.isNumber))
            let year = Int(date.prefix(4)) ?? 0, month = Int(date.dropFirst(4).prefix(2)) ?? 0
            let day = Int(date.suffix(2)) ?? 0
            #expect((1992...2008).contains(year) && (1...12).contains(month))
            #expect(day >= 1 && day <= SyntheticDatasetOptions.daysIn(month: month, year: year))
        }
        let first = patients[0]
        #expect(try first.id == options.patientID(0))
        #expect(try first.sliceCount == options.sliceCount(patient: 0))
        #expect(first.imageFileName(slice: 0) == "\(first.id)_1.tif")
        #expect(first.maskFileName(slice: 4) == "\(first.id)_5_mask.tif")
        // Growing the dataset keeps the earlier ids; another seed gives other ids.
        #expect(try SyntheticDatasetOptions(patients: 10, seed: 3).patientID(7) == patients[7].id)
        let other = try SyntheticDatasetOptions(patients: 5000, seed: 4).patientList().map(\.id)
        #expect(other != patients.map(\.id))
    }

    @Test func sliceCountsStayInRange() throws {
        let options = try SyntheticDatasetOptions(patients: 110, minSlices: 20, maxSlices: 40, seed: 5)
        let counts = options.patientList().map(\.sliceCount)
        #expect(counts.allSatisfy { (20...40).contains($0) })
        #expect(Set(counts).count > 10)
        let fixed = try SyntheticDatasetOptions(patients: 5, minSlices: 88, maxSlices: 88)
        #expect(fixed.patientList().allSatisfy { $0.sliceCount == 88 })
    }

    // MARK: - Determinism

    @Test func sameSeedSameSlicesOtherSeedOtherSlices() throws {
        let options = try SyntheticDatasetOptions(patients: 4, minSlices: 8, maxSlices: 10, size: 40, seed: 9)
        let a = try SyntheticBrain.slice(patient: 1, slice: 4, options: options)
        let b = try SyntheticBrain.slice(patient: 1, slice: 4, options: options)
        #expect(a.image == b.image && a.mask == b.mask)
        #expect(a.image.channels == 3 && a.image.samples.count == 3 * 40 * 40)
        #expect(a.mask.channels == 1 && a.mask.samples.count == 40 * 40)
        let volume = try SyntheticBrain.volume(patient: 1, options: options)
        #expect(volume.count == (try options.sliceCount(patient: 1)))
        #expect(volume[4].image == a.image && volume[4].mask == a.mask)
        let reseeded = try SyntheticDatasetOptions(patients: 4, minSlices: 8, maxSlices: 10, size: 40, seed: 10)
        let c = try SyntheticBrain.slice(patient: 1, slice: 4, options: reseeded)
        #expect(c.image != a.image)
        let otherPatient = try SyntheticBrain.slice(patient: 2, slice: 4, options: options)
        #expect(otherPatient.image != a.image)
    }

    // MARK: - Slices and lesions

    @Test func samplesAreEightBitAndMasksBinaryInsideTheBrain() {
        #expect(Self.sample.count == 20)
        for patient in Self.sample {
            for slice in patient.slices {
                #expect(slice.image.allSatisfy { $0 >= 0 && $0 <= 255 && $0 == $0.rounded() })
                #expect(slice.mask.allSatisfy { $0 == 0 || $0 == 255 })
                #expect(zip(slice.mask, slice.brain).allSatisfy { $0 == 0 || $1 == 1 })
            }
        }
    }

    @Test func lesionsCoverExactlyTheirRunsOfSlices() {
        for patient in Self.sample {
            var planned = Set<Int>()
            for lesion in patient.phantom.lesions { planned.formUnion(lesion.slices) }
            let shown = patient.lesionSlices
            #expect(Set(shown) == planned)
            // Runs of consecutive lesion slices: at most one per lesion, none without lesions.
            let runs = shown.indices.filter { $0 == 0 || shown[$0] != shown[$0 - 1] + 1 }.count
            #expect(runs <= patient.phantom.lesions.count)
            #expect((runs == 0) == patient.phantom.lesions.isEmpty)
        }
        #expect(Self.sample.contains { $0.phantom.lesions.count == 1 })
    }

    @Test func lesionSliceFractionIsLikeTheRealSet() {
        let lesionSlices = Self.sample.map(\.lesionSlices.count).reduce(0, +)
        let slices = Self.sample.map(\.slices.count).reduce(0, +)
        let fraction = Double(lesionSlices) / Double(slices)
        #expect(fraction >= 0.3 && fraction <= 0.5, "lesion slice fraction \(fraction)")
    }

    @Test func lesionIsBrightOnFlairAndSubtleElsewhere() throws {
        let options = try SyntheticDatasetOptions(patients: 6, size: 96, seed: 2)
        var checked = 0
        for p in 0..<options.patients {
            let phantom = SyntheticPhantom(patient: p, options: options)
            guard let lesion = phantom.lesions.first else { continue }
            let k = (lesion.slices.lowerBound + lesion.slices.upperBound) / 2
            let r = phantom.render(slice: k, noise: options.generator(.sliceNoise, p, k), recordBrain: true)
            let n = options.size, count = n * n
            // Brain pixels within 6 px of the lesion but outside it.
            var near = [Bool](repeating: false, count: count)
            for i in 0..<count where r.mask.samples[i] == 255 {
                let x = i % n, y = i / n
                for yy in max(0, y - 6)...min(n - 1, y + 6) {
                    for xx in max(0, x - 6)...min(n - 1, x + 6) { near[yy * n + xx] = true }
                }
            }
            let inside = (0..<count).filter { r.mask.samples[$0] == 255 }
            let around = (0..<count).filter { near[$0] && r.mask.samples[$0] == 0 && r.brain[$0] == 1 }
            guard !inside.isEmpty, !around.isEmpty else { continue }
            func ratio(_ channel: Int) -> Double {
                let plane = Array(r.image.samples[channel * count..<(channel + 1) * count])
                let a = inside.map { Double(plane[$0]) }.reduce(0, +) / Double(inside.count)
                let b = around.map { Double(plane[$0]) }.reduce(0, +) / Double(around.count)
                return a / b
            }
            #expect(ratio(1) >= 1.3, "FLAIR lesion/surround \(ratio(1)) for patient \(p)")
            // Hypo- to isointense on pre-contrast; post-contrast may enhance a little.
            #expect(ratio(0) < 1.1 && ratio(2) < 1.25, "pre/post lesion/surround \(ratio(0)), \(ratio(2))")
            #expect(ratio(1) > max(ratio(0), ratio(2)) + 0.3)
            checked += 1
        }
        #expect(checked >= 3)
    }

    @Test func channelsHaveDifferentContrasts() throws {
        let options = try SyntheticDatasetOptions(patients: 1, size: 96, seed: 4)
        let phantom = SyntheticPhantom(patient: 0, options: options)
        let k = phantom.sliceCount / 2
        let r = phantom.render(slice: k, noise: options.generator(.sliceNoise, 0, k), recordBrain: true)
        let count = 96 * 96
        // Brain tissue without CSF: FLAIR above its 30th percentile in the brain.
        let inBrain = (0..<count).filter { r.brain[$0] == 1 }
        #expect(inBrain.count > count / 5)
        let flairLevels = inBrain.map { r.image.samples[count + $0] }.sorted()
        let csfLevel = flairLevels[flairLevels.count * 3 / 10]
        let brain = inBrain.filter { r.image.samples[count + $0] > csfLevel }
        func channel(_ c: Int) -> [Double] { brain.map { Double(r.image.samples[c * count + $0]) } }
        func correlation(_ a: [Double], _ b: [Double]) -> Double {
            let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
            var sab = 0.0, saa = 0.0, sbb = 0.0
            for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
            return sab / (saa * sbb).squareRoot()
        }
        let pre = channel(0), flair = channel(1), post = channel(2)
        // White matter is bright on the T1-weighted channels and dark on FLAIR: their contrasts oppose.
        #expect(correlation(pre, flair) < 0)
        #expect(correlation(post, flair) < 0)
        #expect(correlation(pre, post) > 0.3)
        #expect(pre != post)
    }
}

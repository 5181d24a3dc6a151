import Testing
import UNetData
import _TestSupport
import UNetTensor
import _UNetSupport

/// `calc_slice_weights` and weighted sampling.
@Suite struct SliceWeightsTests {
    @Test func handComputedWeights() throws {
        // M = 40, n = 3: w = (m + 0.1·40/3) / 44.
        let w = try SliceWeights.weights(lesionAmounts: [0, 10, 30])
        let expected = [4.0 / 3 / 44, (10 + 4.0 / 3) / 44, (30 + 4.0 / 3) / 44]
        #expect(w.count == 3)
        for (a, b) in zip(w, expected) { #expect(abs(a - b) < 1e-12) }
        #expect(abs(w.reduce(0, +) - 1) < 1e-12)
    }

    @Test func emptySetIsUniform() throws {
        #expect(try SliceWeights.weights(lesionAmounts: [0, 0, 0, 0]) == [0.25, 0.25, 0.25, 0.25])
        #expect(try SliceWeights.weights(lesionAmounts: []) == [])
        #expect(throws: UnetsegError.self) { try SliceWeights.weights(lesionAmounts: [1, -1]) }
        #expect(throws: UnetsegError.self) { try SliceWeights.weights(lesionAmounts: [.nan]) }
    }

    @Test func lesionAmountCountsMaskPixels() {
        let mask = Raster(width: 3, height: 2, channels: 1, samples: [0, 255, 255, 0, 0, 255])
        #expect(SliceWeights.lesionAmount(of: mask) == 3)
        let rgb = Raster(width: 2, height: 1, channels: 3, samples: [255, 0, 255, 0, 255, 0])
        #expect(SliceWeights.lesionAmount(of: rgb) == 1)
        let deep = Raster(width: 2, height: 1, channels: 1, bitsPerSample: 16, samples: [65535, 0])
        #expect(SliceWeights.lesionAmount(of: deep) == 1)
    }

    @Test func samplingFrequenciesMatchWeights() throws {
        let weights = [0.1, 0.2, 0.0, 0.3, 0.4]
        let sampler = try WeightedSampler(weights: weights)
        #expect(sampler.count == 5)
        #expect(abs(sampler.probability(of: 3) - 0.3) < 1e-12 && sampler.probability(of: 2) == 0)
        var generator = RandomGenerator(seed: 2024)
        var counts = [Int](repeating: 0, count: 5)
        let draws = 20_000
        for _ in 0..<draws { counts[sampler.sample(using: &generator)] += 1 }
        #expect(counts[2] == 0)  // zero weight: never drawn
        // Pearson's chi-square over the four possible outcomes (3 degrees of freedom); 16.27 is the 0.1 %
        // quantile, so a correct sampler fails this with a fixed seed essentially never.
        var chiSquare = 0.0
        for (i, w) in weights.enumerated() where w > 0 {
            let expected = w * Double(draws)
            chiSquare += (Double(counts[i]) - expected) * (Double(counts[i]) - expected) / expected
        }
        #expect(chiSquare < 16.27, "chi-square \(chiSquare), counts \(counts)")
        #expect(generator.position == UInt64(draws))  // one value per draw
    }

    @Test func samplerWithSliceWeightsPrefersLesions() throws {
        let sampler = try WeightedSampler(weights: try SliceWeights.weights(lesionAmounts: [0, 0, 0, 300]))
        var generator = RandomGenerator(seed: 9)
        var lesion = 0
        for _ in 0..<2_000 where sampler.sample(using: &generator) == 3 { lesion += 1 }
        // P = (300 + 7.5) / 330 ≈ 0.93.
        #expect(lesion > 1_800 && lesion < 1_930)
    }

    @Test func invalidWeightsThrow() {
        #expect(throws: UnetsegError.self) { try WeightedSampler(weights: []) }
        #expect(throws: UnetsegError.self) { try WeightedSampler(weights: [0, 0]) }
        #expect(throws: UnetsegError.self) { try WeightedSampler(weights: [1, -0.5]) }
        #expect(throws: UnetsegError.self) { try WeightedSampler(weights: [1, .infinity]) }
        #expect(throws: UnetsegError.self) { try WeightedSampler(weights: [.nan]) }
    }
}

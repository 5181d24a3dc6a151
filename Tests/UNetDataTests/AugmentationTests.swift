import Testing
import UNetData
import _TestSupport
import UNetTensor
import _UNetSupport

/// Geometry of resize / rotate / flip on known squares, image–mask alignment, identities and validation.
@Suite struct AugmentationTests {
    /// A `[channels, size, size]` tensor that is `value` on rows and columns in `range`, 0 elsewhere.
    func square(size: Int, rows: Range<Int>, columns: Range<Int>, channels: Int = 1, value: Float = 1) throws -> Tensor {
        var values = [Float](repeating: 0, count: channels * size * size)
        for c in 0..<channels {
            for y in rows { for x in columns { values[(c * size + y) * size + x] = value } }
        }
        return try Tensor(values, shape: [channels, size, size])
    }

    /// Rows and columns where channel 0 of a square `[C, n, n]` tensor is above `threshold`.
    func support(_ t: Tensor, above threshold: Float) -> (rows: Set<Int>, columns: Set<Int>) {
        let n = t.shape[2], v = t.toArray()
        var rows: Set<Int> = [], columns: Set<Int> = []
        for y in 0..<n { for x in 0..<n where v[y * n + x] > threshold { rows.insert(y); columns.insert(x) } }
        return (rows, columns)
    }

    func random(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var g = RandomGenerator(seed: seed)
        return try Tensor.uniform(shape, generator: &g)
    }

    @Test func rotate90IsCounterClockwiseAndExact() throws {
        // Bright square in the top-right corner of an 8 × 8 image.
        let image = try square(size: 8, rows: 1..<3, columns: 5..<7, channels: 3, value: 0.8)
        let mask = try square(size: 8, rows: 1..<3, columns: 5..<7)
        let (outImage, outMask) = try Augmentation.rotate(image, mask, degrees: 90)
        // Counter-clockwise: the top-right corner goes to the top-left.
        #expect(outImage.toArray() == (try square(size: 8, rows: 1..<3, columns: 1..<3, channels: 3, value: 0.8)).toArray())
        #expect(outMask.toArray() == (try square(size: 8, rows: 1..<3, columns: 1..<3)).toArray())
        // Any picture: output (x, y) is source (W−1−y, x) for a 90° turn.
        let picture = try random([2, 6, 6], seed: 5), pictureMask = try random([1, 6, 6], seed: 6)
        let turned = try Augmentation.rotate(picture, pictureMask, degrees: 90)
        let p = picture.toArray(), t = turned.image.toArray()
        for c in 0..<2 { for y in 0..<6 { for x in 0..<6 {
            #expect(t[(c * 6 + y) * 6 + x] == p[(c * 6 + x) * 6 + (5 - y)])
        } } }
        // Four quarter turns give the picture back; -90 undoes 90.
        var back = turned
        for _ in 0..<3 { back = try Augmentation.rotate(back.image, back.mask, degrees: 90) }
        #expect(back.image.toArray() == p)
        #expect(try Augmentation.rotate(turned.image, turned.mask, degrees: -90).mask.toArray() == pictureMask.toArray())
    }

    @Test func rotateKeepsMaskBinaryAndAligned() throws {
        let image = try square(size: 24, rows: 6..<16, columns: 8..<18, channels: 3)
        let mask = try square(size: 24, rows: 6..<16, columns: 8..<18)
        let (outImage, outMask) = try Augmentation.rotate(image, mask, degrees: 30)
        let i = outImage.toArray(), m = outMask.toArray()
        #expect(m.allSatisfy { $0 == 0 || $0 == 1 })
        #expect(m.reduce(0, +) > 80)  // the square is still there (100 pixels before)
        for k in 0..<(24 * 24) {
            // The mask's nearest source pixel lies within half a pixel of the bilinear sample point.
            if m[k] == 1 { #expect(i[k] >= 0.25 - 1e-5) } else { #expect(i[k] <= 0.75 + 1e-5) }
        }
        // All channels moved alike.
        #expect(Array(i[0..<576]) == Array(i[576..<1152]))
    }

    @Test func resizeUpCropsTheCentre() throws {
        // 20 → ⌊1.2·20⌋ = 24, crop top = left = 2. Source rows 5…9 land on rows 4…9.
        let image = try square(size: 20, rows: 5..<10, columns: 5..<10, channels: 3)
        let mask = try square(size: 20, rows: 5..<10, columns: 5..<10)
        let (outImage, outMask) = try Augmentation.resize(image, mask, scale: 1.2)
        #expect(outImage.shape == [3, 20, 20] && outMask.shape == [1, 20, 20])
        let fromMask = support(outMask, above: 0.5), fromImage = support(outImage, above: 0.5)
        #expect(fromMask.rows == Set(4...9) && fromMask.columns == Set(4...9))
        #expect(fromImage.rows == Set(4...9) && fromImage.columns == Set(4...9))
        #expect(outMask.toArray().allSatisfy { $0 == 0 || $0 == 1 })
    }

    @Test func resizeUpWithOddExcessCropsTheLargerHalfFirst() throws {
        // 19 → ⌊1.2·19⌋ = 22: 3 extra, crop top = left = ⌈3/2⌉ = 2. Values are the column index.
        let ramp = try Tensor((0..<(19 * 19)).map { Float($0 % 19) }, shape: [1, 19, 19])
        let (outImage, outMask) = try Augmentation.resize(ramp, ramp, scale: 1.2)
        let m = outMask.toArray(), i = outImage.toArray()
        for x in 0..<19 {
            // Mask: nearest source column ⌊(x + 2) · 19/22⌋; image: bilinear at (x + 2.5) · 19/22 − 0.5.
            #expect(m[x] == Float((x + 2) * 19 / 22), "mask column \(x)")
            let expected = min((Float(x) + 2.5) * 19 / 22 - 0.5, 18)
            #expect(abs(i[x] - expected) < 1e-4, "image column \(x)")
            #expect(m[18 * 19 + x] == m[x] && i[18 * 19 + x] == i[x])
        }
    }

    @Test func resizeDownPadsWithZeros() throws {
        // 20 → 16, pad 2 before and 2 after. Source rows 5…9 land on rows 6…9.
        let image = try square(size: 20, rows: 5..<10, columns: 5..<10, channels: 3)
        let mask = try square(size: 20, rows: 5..<10, columns: 5..<10)
        let (outImage, outMask) = try Augmentation.resize(image, mask, scale: 0.8)
        let fromMask = support(outMask, above: 0.5), fromImage = support(outImage, above: 0.5)
        #expect(fromMask.rows == Set(6...9) && fromMask.columns == Set(6...9))
        #expect(fromImage.rows == Set(6...9) && fromImage.columns == Set(6...9))
        // An all-ones image of odd size 21 → 16: pad ⌈5/2⌉ = 3 before and 2 after, with zeros.
        let ones = try Tensor.ones([1, 21, 21])
        let padded = try Augmentation.resize(ones, ones, scale: 0.8)
        for (name, t) in [("image", padded.image), ("mask", padded.mask)] {
            let v = t.toArray()
            for y in 0..<21 { for x in 0..<21 {
                let inside = (3..<19).contains(y) && (3..<19).contains(x)
                #expect(v[y * 21 + x] == (inside ? 1 : 0), "\(name) at (\(x), \(y))")
            } }
        }
    }

    @Test func resizedSizeTruncates() {
        #expect(Augmentation.resizedSize(256, scale: 1.05) == 268)
        #expect(Augmentation.resizedSize(256, scale: 0.95) == 243)
        #expect(Augmentation.resizedSize(10, scale: 0.7) == 7)
        #expect(Augmentation.resizedSize(20, scale: 1.2) == 24)
        #expect(Augmentation.resizedSize(5, scale: 0.01) == 1)
    }

    @Test func hflipMirrors() throws {
        let image = try random([3, 4, 5], seed: 1), mask = try random([1, 4, 5], seed: 2)
        let (outImage, outMask) = try Augmentation.hflip(image, mask)
        let a = image.toArray(), b = outImage.toArray()
        for c in 0..<3 { for y in 0..<4 { for x in 0..<5 {
            #expect(b[(c * 4 + y) * 5 + x] == a[(c * 4 + y) * 5 + (4 - x)])
        } } }
        #expect(try Augmentation.hflip(outImage, outMask).mask.toArray() == mask.toArray())
        #expect(image.toArray() == a)  // the input is not changed
    }

    @Test func zeroRotationAndUnitScaleAreIdentities() throws {
        let image = try random([3, 9, 9], seed: 3), mask = try random([1, 9, 9], seed: 4)
        let rotated = try Augmentation.rotate(image, mask, degrees: 0)
        let resized = try Augmentation.resize(image, mask, scale: 1)
        #expect(rotated.image.toArray() == image.toArray() && rotated.mask.toArray() == mask.toArray())
        #expect(resized.image.toArray() == image.toArray() && resized.mask.toArray() == mask.toArray())
        #expect(rotated.image !== image)
    }

    @Test func randomHelpersDrawFromTheirRanges() throws {
        let image = try random([1, 6, 6], seed: 7), mask = try random([1, 6, 6], seed: 8)
        var g = RandomGenerator(seed: 1)
        let flipped = try Augmentation.randomFlip(image, mask, probability: 1, generator: &g)
        #expect(flipped.image.toArray() == (try Augmentation.hflip(image, mask)).image.toArray())
        let kept = try Augmentation.randomFlip(image, mask, probability: 0, generator: &g)
        #expect(kept.image.toArray() == image.toArray())
        // A spread of 0 means the fixed transform with factor 1 / angle 0.
        let same = try Augmentation.randomResize(image, mask, scaleParameter: 0, generator: &g)
        #expect(same.image.toArray() == image.toArray())
        let still = try Augmentation.randomRotate(image, mask, angleParameter: 0, generator: &g)
        #expect(still.mask.toArray() == mask.toArray())
        #expect(g.position == 4)  // one draw per helper
        // The angle comes from U(−a, a): with a = 90, both directions occur.
        var signs: Set<Bool> = []
        var h = RandomGenerator(seed: 2)
        for _ in 0..<20 { signs.insert(h.uniform(-90, 90) > 0) }
        #expect(signs.count == 2)
    }

    @Test func parametersApplyDeterministically() throws {
        let image = try square(size: 32, rows: 8..<20, columns: 10..<24, channels: 3)
        let mask = try square(size: 32, rows: 8..<20, columns: 10..<24)
        let parameters = AugmentationParameters()
        #expect(parameters == AugmentationParameters(scale: 0.05, angle: 15, flip: 0.5))
        var g1 = RandomGenerator(seed: 42), g2 = RandomGenerator(seed: 42)
        let a = try parameters.apply(image: image, mask: mask, generator: &g1)
        let b = try parameters.apply(image: image, mask: mask, generator: &g2)
        #expect(a.image.toArray() == b.image.toArray() && a.mask.toArray() == b.mask.toArray())
        #expect(g1.position == 3)
        #expect(a.mask.toArray().allSatisfy { $0 == 0 || $0 == 1 })
        #expect(a.image.toArray() != image.toArray())
        // Same as the three helpers in order with the same draws.
        var g3 = RandomGenerator(seed: 42)
        var step = try Augmentation.randomResize(image, mask, scaleParameter: 0.05, generator: &g3)
        step = try Augmentation.randomRotate(step.image, step.mask, angleParameter: 15, generator: &g3)
        step = try Augmentation.randomFlip(step.image, step.mask, probability: 0.5, generator: &g3)
        #expect(step.image.toArray() == a.image.toArray() && step.mask.toArray() == a.mask.toArray())
    }

    @Test func invalidInputsThrow() throws {
        let image = try Tensor.zeros([3, 8, 8]), mask = try Tensor.zeros([1, 8, 8])
        #expect(throws: UnetsegError.self) { try Augmentation.resize(image, try Tensor.zeros([1, 8, 7]), scale: 1) }
        #expect(throws: UnetsegError.self) { try Augmentation.rotate(try Tensor.zeros([8, 8]), mask, degrees: 1) }
        #expect(throws: UnetsegError.self) { try Augmentation.hflip(try Tensor.zeros([3, 0, 8]), mask) }
        #expect(throws: UnetsegError.self) { try Augmentation.resize(image, mask, scale: 0) }
        #expect(throws: UnetsegError.self) { try Augmentation.resize(image, mask, scale: .nan) }
        #expect(throws: UnetsegError.self) { try Augmentation.rotate(image, mask, degrees: .infinity) }
        var g = RandomGenerator(seed: 0)
        #expect(throws: UnetsegError.self) { try Augmentation.randomResize(image, mask, scaleParameter: 1, generator: &g) }
        #expect(throws: UnetsegError.self) { try Augmentation.randomRotate(image, mask, angleParameter: -1, generator: &g) }
        #expect(throws: UnetsegError.self) { try Augmentation.randomFlip(image, mask, probability: 2, generator: &g) }
        #expect(throws: UnetsegError.self) {
            try AugmentationParameters(scale: 0.05, angle: 15, flip: .nan).apply(image: image, mask: mask, generator: &g)
        }
    }

    @Test func minMaxScalingAndBinarisation() throws {
        let image = try Tensor([2, 4, 6, 10, 2, 2], shape: [2, 1, 3])
        let scaled = ImageScaling.minMaxScaled(image).toArray()
        let expected: [Float] = [0, 2, 4, 8, 0, 0].map { $0 / (8 + 1e-5) }
        #expect(zip(scaled, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(image.toArray() == [2, 4, 6, 10, 2, 2])
        ImageScaling.minMaxScaleInPlace(image)
        #expect(image.toArray() == scaled)
        // A constant image becomes 0, not NaN; a long image exercises the vector path.
        #expect(ImageScaling.minMaxScaled(try Tensor.full([3, 4, 4], 7)).toArray().allSatisfy { $0 == 0 })
        let long = try Tensor((0..<100).map { Float(($0 * 37) % 100) - 50 }, shape: [100])
        let l = ImageScaling.minMaxScaled(long).toArray()
        #expect(l.min() == 0 && abs((l.max() ?? 0) - 1) < 1e-6)
        let mask = try Tensor([0, 255, 0, 128], shape: [1, 2, 2])
        #expect(ImageScaling.binarizedMask(mask).toArray() == [0, 1, 0, 1])
    }
}

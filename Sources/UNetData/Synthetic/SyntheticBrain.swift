import UNetTensor
#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// Synthetic LGG-like brain MRI in the layout of `kaggle_3m` (Buda et al. 2019): axial slices with three
/// channels (pre-contrast, FLAIR, post-contrast) of 0…255 values, and binary masks (0 or 255) of the FLAIR
/// abnormality. Each patient's anatomy and lesions are drawn once from the dataset seed and cut into
/// slices, so lesions are 3-D blobs over consecutive slices; every slice also has its own noise stream, so
/// any slice can be made alone, in any order or in parallel, with the same result.
public enum SyntheticBrain {
    /// Slice `slice` (0-based; file number `slice + 1`) of patient `patient` (0-based): a 3-channel
    /// `size × size` image and its 1-channel mask. Throws when either index is out of range.
    public static func slice(patient: Int, slice: Int,
                             options: SyntheticDatasetOptions) throws(UnetsegError) -> (image: Raster, mask: Raster) {
        try options.checkPatient(patient)
        let phantom = SyntheticPhantom(patient: patient, options: options)
        try checkArgument((0..<phantom.sliceCount).contains(slice),
                    "slice \(slice) is not in 0..<\(phantom.sliceCount) of patient \(patient)")
        let result = phantom.render(slice: slice, noise: options.generator(.sliceNoise, patient, slice))
        return (result.image, result.mask)
    }

    /// All slices of patient `patient` (0-based) in file order, made in parallel. Throws when the index is
    /// out of range.
    public static func volume(patient: Int,
                              options: SyntheticDatasetOptions) throws(UnetsegError) -> [(image: Raster, mask: Raster)] {
        try options.checkPatient(patient)
        let phantom = SyntheticPhantom(patient: patient, options: options)
        let empty = Raster(width: 0, height: 0, channels: 0, samples: [])
        var slices = [(image: Raster, mask: Raster)](repeating: (empty, empty), count: phantom.sliceCount)
        slices.withUnsafeMutableBufferPointer { out in
            Parallel.forEachChunk(out.count, minimumPerThread: 1) { lo, hi in
                var workspace: [Float] = []
                for k in lo..<hi {
                    let result = phantom.render(slice: k, noise: options.generator(.sliceNoise, patient, k),
                                                workspace: &workspace)
                    out[k] = (result.image, result.mask)
                }
            }
        }
        return slices
    }
}

extension SyntheticPhantom {
    /// Planes of per-pixel fields used while rendering one slice (row-major, `size²` floats each).
    private enum Plane: Int, CaseIterable {
        case boundary, fold, sulcus, texture, bias, lesionWeight, lesionNoise, lesionIndex, scratch
    }

    /// Renders slice `k`: the image (3 planes, 0…255 integers as floats), the mask (0 or 255) and, when
    /// `recordBrain`, the brain mask (1 where more than half of the pixel is brain tissue, else 0).
    /// `noise` is the slice's own stream for the acquisition noise; `workspace` is scratch memory that may be
    /// reused from slice to slice.
    func render(slice k: Int, noise: RandomGenerator, recordBrain: Bool = false,
                workspace planes: inout [Float]) -> (image: Raster, mask: Raster, brain: [Float]) {
        let n = size, count = n * n
        var image = [Float](repeating: 0, count: 3 * count)
        var mask = [Float](repeating: 0, count: count)
        var brain = [Float](repeating: 0, count: recordBrain ? count : 0)
        if planes.count < Plane.allCases.count * count {
            planes = [Float](repeating: 0, count: Plane.allCases.count * count)
        }
        image.withUnsafeMutableBufferPointer { imageBuffer in
            mask.withUnsafeMutableBufferPointer { maskBuffer in
                brain.withUnsafeMutableBufferPointer { brainBuffer in
                    planes.withUnsafeMutableBufferPointer { planeBuffer in
                        guard let img = imageBuffer.baseAddress, let msk = maskBuffer.baseAddress,
                              let pl = planeBuffer.baseAddress else { return }
                        // An empty array may still have a base address: pass none unless recording.
                        render(slice: k, noise: noise, image: img, mask: msk,
                               brain: recordBrain ? brainBuffer.baseAddress : nil, planes: pl)
                    }
                }
            }
        }
        return (Raster(width: n, height: n, channels: 3, samples: image),
                Raster(width: n, height: n, channels: 1, samples: mask), brain)
    }

    /// `render` with fresh scratch memory.
    func render(slice k: Int, noise: RandomGenerator,
                recordBrain: Bool = false) -> (image: Raster, mask: Raster, brain: [Float]) {
        var workspace: [Float] = []
        return render(slice: k, noise: noise, recordBrain: recordBrain, workspace: &workspace)
    }

    /// `render` on raw buffers; `planes` holds `Plane.allCases.count` planes of any content.
    private func render(slice k: Int, noise: RandomGenerator, image: UnsafeMutablePointer<Float>,
                        mask: UnsafeMutablePointer<Float>, brain: UnsafeMutablePointer<Float>?,
                        planes: UnsafeMutablePointer<Float>) {
        let n = size, count = n * n
        func plane(_ p: Plane) -> UnsafeMutablePointer<Float> { planes + p.rawValue * count }
        let layout = SliceLayout(self, slice: k)
        let rows = layout.rows, columns = layout.columns

        // Noise fields inside the head box (only read there).
        let depth = Float(k)
        for (field, p, amplitude) in [(boundaryNoise, Plane.boundary, Float(0.67)), (foldNoise, .fold, 0.67),
                                      (sulcusNoise, .sulcus, 1), (textureNoise, .texture, 0.57), (biasNoise, .bias, 1)] {
            field.fill(plane(p), rowStride: n, columns: columns, rows: rows, depth: depth, amplitude: amplitude)
        }
        // Lesions: partial-volume weight (0…1; the mask is where it reaches ½), noise and which lesion. The
        // weight starts at 0; noise and index are only read where the weight is > 0.
        plane(.lesionWeight).update(repeating: 0, count: count)
        var lesionIntensities: [SIMD4<Float>] = [], lesionHeterogeneity: [Float] = [], lesionRims: [SIMD4<Float>] = []
        for lesion in lesions where lesion.slices.contains(k) {
            paint(lesion, slice: k, index: Float(lesionIntensities.count), weight: plane(.lesionWeight),
                  noise: plane(.lesionNoise), which: plane(.lesionIndex), scratch: plane(.scratch))
            lesionIntensities.append(lesion.intensity)
            lesionHeterogeneity.append(lesion.heterogeneity)
            lesionRims.append(lesion.rim)
        }

        let fields = PixelFields(boundary: plane(.boundary), fold: plane(.fold), sulcus: plane(.sulcus),
                                 texture: plane(.texture), bias: plane(.bias))
        let lesionWeight = plane(.lesionWeight), lesionNoise = plane(.lesionNoise), lesionIndex = plane(.lesionIndex)
        let sigma = noiseSigma * 2.449_489_7   // σ·√6: the triangular noise below has variance 1/6
        var rng = noise
        for y in 0..<n {
            let rowInHead = rows.contains(y)
            for x in 0..<n {
                let i = y * n + x
                var value = SIMD4<Float>.zero
                if rowInHead && columns.contains(x) {
                    let head = headSignal(layout, fields, x: x, y: y, i: i)
                    value = head.value
                    if head.brainWeight > 0 {
                        var tissue = head.tissue
                        let lw = lesionWeight[i]
                        if lw > 0 {
                            let which = Int(lesionIndex[i])
                            // The rim peaks where the partial-volume weight is ½ (zero in the simple style).
                            let lesion = lesionIntensities[which] * (1 + lesionHeterogeneity[which] * lesionNoise[i])
                                + lesionRims[which] * (4 * lw * (1 - lw))
                            tissue = Self.lerp(tissue, lesion, lw)
                            if lw * head.brainWeight >= 0.5 { mask[i] = 255 }
                        }
                        value = Self.lerp(value, tissue, head.brainWeight)
                        if head.brainWeight >= 0.5 { brain?[i] = 1 }
                    }
                    value *= 1 + biasAmplitude * fields.bias[i]
                }
                // Rician noise: magnitude of the signal plus complex noise, then 8-bit quantisation.
                for channel in 0..<3 {
                    let bits = rng.next()
                    let re = (Float(bits & 0xFFFF) + Float((bits >> 16) & 0xFFFF)) * 0x1p-16 - 1
                    let im = (Float((bits >> 32) & 0xFFFF) + Float(bits >> 48)) * 0x1p-16 - 1
                    let real = value[channel] + sigma * re, imaginary = sigma * im
                    let magnitude = (real * real + imaginary * imaginary).squareRoot() * gain[channel]
                    image[channel * count + i] = Float(Int32(min(255, magnitude) + 0.5))   // ≥ 0: truncation rounds
                }
            }
        }
    }

    /// The per-pixel noise planes of a slice.
    private struct PixelFields {
        let boundary, fold, sulcus, texture, bias: UnsafeMutablePointer<Float>
    }

    /// What one slice cuts from the phantom: brain semi-axes, the head's bounding box, and the sizes of the
    /// ventricles and deep grey nuclei there (pixels; 0 when absent).
    private struct SliceLayout {
        let rx, ry, invRx, invRy, minRadius: Float
        let rows, columns: Range<Int>
        let ventricleLength, ventricleWidth, nucleusRadiusX, nucleusRadiusY, thirdVentricleHalfWidth: Float
        let fissureHalfWidth, fissureStart: Float
        /// Pixels per unit of sulcus noise away from its zero set (where sulci run).
        let sulcusPixels: Float
        /// Distance inside the skull below which a pixel is air.
        let outsideHead: Float

        init(_ p: SyntheticPhantom, slice k: Int) {
            let n = p.size, scale = Float(n) / 256
            let t = SyntheticPhantom.position(k, p.sliceCount), profile = p.profile(slice: k)
            rx = p.brainRadiusX * profile
            ry = p.brainRadiusY * profile
            invRx = 1 / rx
            invRy = 1 / ry
            minRadius = min(rx, ry)
            let reach = max(rx, ry) * (1 + p.egg) + p.csfRim * 3 + p.skullThickness + p.scalpThickness * 1.6 + 3
            columns = max(0, Int(p.centerX - reach))..<min(n, Int(p.centerX + reach) + 1)
            rows = max(0, Int(p.centerY - reach))..<min(n, Int(p.centerY + reach) + 1)
            let vr = (t - p.ventricleCenter) / p.ventricleHalfExtent, ventricleBell = max(0, 1 - vr * vr)
            ventricleLength = ry * 0.32 * (0.6 + 0.4 * ventricleBell)
            ventricleWidth = rx * 0.06 * p.ventricleSize * ventricleBell.squareRoot()
            let nr = (t - p.nucleiCenter) / p.nucleiHalfExtent, nucleiBell = max(0, 1 - nr * nr)
            nucleusRadiusX = rx * 0.13 * nucleiBell.squareRoot()
            nucleusRadiusY = ry * 0.2 * nucleiBell.squareRoot()
            thirdVentricleHalfWidth = 1.2 * scale * nucleiBell
            fissureHalfWidth = 0.9 * scale
            fissureStart = ry * 0.45 * profile
            sulcusPixels = p.sulcusNoise.cellSize / 1.5
            outsideHead = -(p.skullThickness + 1.5 * p.scalpThickness + 1 + p.skullWobble)
        }
    }

    /// The signal of pixel (x, y) of the head box before lesions: `value` outside the brain (scalp, skull,
    /// CSF), `tissue` the brain tissue, `brainWeight` the brain's share of the pixel (blend the two with it).
    @inline(__always)
    private func headSignal(_ s: SliceLayout, _ f: PixelFields, x: Int, y: Int,
                            i: Int) -> (value: SIMD4<Float>, tissue: SIMD4<Float>, brainWeight: Float) {
        let c = contrasts
        // Signed distance (pixels) inside the skull's inner surface: an egg-shaped ellipse, first order.
        let px = Float(x) + 0.5 - centerX, py = Float(y) + 0.5 - centerY
        let u = cosRotation * px + sinRotation * py, v = -sinRotation * px + cosRotation * py
        let ux = u / max(0.5, 1 + egg * v * s.invRy)
        let a = ux * s.invRx, b = v * s.invRy
        let radial = (a * a + b * b).squareRoot()
        let gradient = (a * a * s.invRx * s.invRx + b * b * s.invRy * s.invRy).squareRoot()
        let nb = f.boundary[i]
        let d = (gradient > 1e-9 ? (1 - radial) * radial / gradient : s.minRadius) + skullWobble * nb
        guard d > s.outsideHead else { return (.zero, .zero, 0) }

        // Scalp, skull, CSF rim, then brain.
        let tx = f.texture[i]
        var value = Self.lerp(.zero, c.scalp * (1 + 2 * textureAmplitude * tx),
                              Self.ramp(d + skullThickness + scalpThickness * (1 + 0.45 * nb)))
        value = Self.lerp(value, c.skull, Self.ramp(d + skullThickness))
        value = Self.lerp(value, c.csf, Self.ramp(d))
        let db = d - max(0.5, csfRim * (1 + 1.2 * nb))
        let brainWeight = Self.ramp(db)
        guard brainWeight > 0 else { return (value, .zero, 0) }

        // Cortex: a ribbon along the surface and along sulci (CSF lines cut in from the surface); white
        // matter deeper than the ribbon from any CSF.
        let fo = f.fold[i]
        let localDepth = sulcusDepth * (0.75 + 0.5 * fo)
        let toLine = max(0, abs(f.sulcus[i]) * s.sulcusPixels - sulcusHalfWidth)
        let belowBottom = max(0, db - localDepth)
        let toSulcus = (toLine * toLine + belowBottom * belowBottom).squareRoot()
        var tissue = Self.lerp(c.grey, c.white, Self.ramp(min(db, toSulcus) - cortexThickness * (1 + 0.4 * fo)))
        // Deep grey nuclei either side of the midline.
        if s.nucleusRadiusX > 1 {
            let nx = (abs(u) - s.rx * 0.2) / s.nucleusRadiusX, ny = (v - s.ry * 0.08) / s.nucleusRadiusY
            let inside = (1 - (nx * nx + ny * ny).squareRoot()) * s.nucleusRadiusX * 0.4
            tissue = Self.lerp(tissue, c.grey, Self.clamp01(inside))
        }
        // CSF: sulci, the interhemispheric fissure, lateral ventricles (two curved horns), third ventricle.
        var csfWeight = max(Self.ramp(-toSulcus),
                            Self.ramp(s.fissureHalfWidth - abs(u)) * Self.ramp(abs(v) - s.fissureStart * (1 + 0.3 * nb)))
        if s.ventricleWidth > 0.5 {
            let along = (v + s.ry * 0.05) / s.ventricleLength
            if abs(along) < 1 {
                let halfWidth = s.ventricleWidth * (1 - 0.6 * along * along + 0.4 * max(0, -along)) * (1 + 0.3 * fo)
                let offset = s.rx * (0.015 + 0.07 * along * along + 0.04 * max(0, along)) + halfWidth
                let end = (1 - abs(along)) * s.ventricleLength
                csfWeight = max(csfWeight, Self.ramp(min(end, halfWidth - abs(abs(u) - offset))))
            }
        }
        if s.nucleusRadiusX > 1 && abs(v - s.ry * 0.08) < s.nucleusRadiusY {
            csfWeight = max(csfWeight, Self.ramp(s.thirdVentricleHalfWidth - abs(u)))
        }
        tissue = Self.lerp(tissue, c.csf, csfWeight) * (1 + textureAmplitude * tx)
        return (value, tissue, brainWeight)
    }

    /// Adds one lesion's cross-section on slice `k` to the lesion planes: where its partial-volume weight
    /// beats the one already there, stores the weight, its boundary noise and `index`.
    private func paint(_ lesion: Lesion, slice k: Int, index: Float, weight: UnsafeMutablePointer<Float>,
                       noise: UnsafeMutablePointer<Float>, which: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) {
        let n = size
        // Depth in the blob, −1…1, and the cross-section there (a superellipse profile, at least 1.5 px).
        let dz = (Float(k) + 0.5 - lesion.centerSlice) / lesion.halfDepth
        let magnitude = abs(dz), power = magnitude * magnitude * magnitude.squareRoot()
        let shrink = Self.power(max(0, 1 - power), 0.4)
        let rp = max(1.5, lesion.radiusP * shrink), rq = max(1.5, lesion.radiusQ * shrink)
        let cx = lesion.centerX + lesion.driftX * dz, cy = lesion.centerY + lesion.driftY * dz
        let reach = max(rp, rq) * (1 + lesion.roughness) + lesion.edgeWidth + 2
        let columns = max(0, Int(cx - reach))..<min(n, Int(cx + reach) + 1)
        let rows = max(0, Int(cy - reach))..<min(n, Int(cy + reach) + 1)
        guard !columns.isEmpty, !rows.isEmpty else { return }
        // Two octaves of amplitude ⅔ and ⅓: |noise| < 1, so the blob centre is always inside.
        lesion.noise.fill(scratch, rowStride: n, columns: columns, rows: rows, depth: Float(k),
                         amplitude: 0.66)
        let invP = 1 / rp, invQ = 1 / rq, meanRadius = (rp * rq).squareRoot(), invEdge = 1 / lesion.edgeWidth
        for y in rows {
            for x in columns {
                let i = y * n + x
                let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                let p = (lesion.cosAngle * dx + lesion.sinAngle * dy) * invP
                let q = (-lesion.sinAngle * dx + lesion.cosAngle * dy) * invQ
                let inside = 1 + lesion.roughness * scratch[i] - (p * p + q * q).squareRoot()
                let w = Self.clamp01(inside * meanRadius * invEdge + 0.5)
                if w > weight[i] {
                    weight[i] = w
                    noise[i] = scratch[i]
                    which[i] = index
                }
            }
        }
    }

    /// `x^y` for x ≥ 0.
    private static func power(_ x: Float, _ y: Float) -> Float { x > 0 ? exp(y * log(x)) : 0 }

    /// `a + (b − a)·w`.
    @inline(__always)
    private static func lerp(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ w: Float) -> SIMD4<Float> { a + (b - a) * w }

    /// `x` clamped to 0…1.
    @inline(__always)
    private static func clamp01(_ x: Float) -> Float { min(1, max(0, x)) }

    /// Coverage of a pixel whose centre is `x` pixels inside an edge: a one-pixel linear ramp.
    @inline(__always)
    private static func ramp(_ x: Float) -> Float { clamp01(x + 0.5) }
}

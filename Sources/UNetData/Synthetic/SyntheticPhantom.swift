import UNetTensor
#if canImport(Glibc)
import Glibc
#endif

/// Everything random about one synthetic patient, drawn once so that all slices of the volume agree:
/// head and brain geometry, tissue contrasts per channel, noise level, and lesions (3-D blobs over runs of
/// consecutive slices: 0–2 in the `simple` style, 0–3 lumpy ones, each the union of a few lobes, in the
/// `realistic` style). Lengths are in pixels of the slice, depths in slices; channels are ordered
/// (pre-contrast, FLAIR, post-contrast) like the RGB planes of `kaggle_3m`.
struct SyntheticPhantom: Sendable {
    /// Mean intensity of each tissue per channel, 0…1 (`SIMD4` lanes: pre-contrast, FLAIR, post-contrast, unused).
    struct Contrasts: Sendable {
        var scalp, skull, csf, grey, white: SIMD4<Float>
    }

    /// One lesion: an ellipsoid in the slice plane whose cross-section shrinks towards its first and last
    /// slice, with a boundary pushed in and out by 3-D noise.
    struct Lesion: Sendable {
        /// First and last slice (0-based) on which the lesion shows; its mask is non-empty exactly there.
        var slices: ClosedRange<Int>
        /// Centre in image pixels on the middle slice, and its shift per unit of normalised depth.
        var centerX, centerY, driftX, driftY: Float
        /// In-plane semi-axes on the middle slice, pixels.
        var radiusP, radiusQ: Float
        /// Orientation of the `radiusP` axis.
        var cosAngle, sinAngle: Float
        /// Relative boundary displacement by the noise (0.2…0.4; 0.25…0.5 in `realistic`).
        var roughness: Float
        /// Width of the partial-volume edge, pixels.
        var edgeWidth: Float
        /// Intensity per channel inside the lesion (0…1; bright on FLAIR, slightly dark on the others).
        var intensity: SIMD4<Float>
        /// Relative variation of the intensity with the noise.
        var heterogeneity: Float
        /// Extra intensity per channel at the lesion's partial-volume edge (a faint rim; zero in `simple`).
        var rim: SIMD4<Float> = .zero
        /// The boundary and texture noise.
        var noise: ValueNoise

        /// Middle of the slice run (in slice units, where slice k spans k…k + 1).
        var centerSlice: Float { Float(slices.lowerBound + slices.upperBound + 1) / 2 }
        /// Half the blob's depth in slices: a little over half the run, so the end slices cut it.
        var halfDepth: Float { Float(slices.count) / 2 + 0.3 }
    }

    /// Width and height of a slice, pixels.
    let size: Int
    /// Number of slices of the volume.
    let sliceCount: Int
    /// Head centre (pixels), rotation of the head axes, and egg shape (brain wider at the back).
    let centerX, centerY, cosRotation, sinRotation, egg: Float
    /// Brain semi-axes (left–right, front–back) on the widest slice, pixels.
    let brainRadiusX, brainRadiusY: Float
    /// Outer layers: CSF rim, skull and scalp thickness, pixels.
    let csfRim, skullThickness, scalpThickness: Float
    /// Axial profile: the widest slice position (0…1 from first to last slice) and the half extents above
    /// and below it, in the same units.
    let profileCenter, profileHalfBelow, profileHalfAbove: Float
    /// Cortical ribbon thickness, sulcus depth and sulcus half width, pixels; skull outline irregularity.
    let cortexThickness, sulcusDepth, sulcusHalfWidth, skullWobble: Float
    /// Lateral ventricles: axial centre and half extent (0…1 positions) and relative size.
    let ventricleCenter, ventricleHalfExtent, ventricleSize: Float
    /// Deep grey nuclei (thalamus, basal ganglia): axial centre and half extent (0…1 positions).
    let nucleiCenter, nucleiHalfExtent: Float
    /// Tissue intensities, per-channel gain to 0…255, texture and bias amplitude, Rician noise σ (0…1 units).
    let contrasts: Contrasts
    /// Per-channel scale from 0…1 intensities to 0…255 samples.
    let gain: SIMD4<Float>
    /// Relative amplitude of the tissue texture and of the smooth intensity bias; σ of the acquisition noise.
    let textureAmplitude, biasAmplitude, noiseSigma: Float
    /// Noise fields: boundary irregularity, cortical folding, sulci, tissue texture, intensity bias.
    let boundaryNoise, foldNoise, sulcusNoise, textureNoise, biasNoise: ValueNoise
    /// The lesions: 0–2 blobs (`simple`), or 0–3 lesions of 2–4 overlapping lobes each (`realistic`).
    let lesions: [Lesion]
    /// The number of lesions as drawn (lobes of one lesion count once).
    let lesionCount: Int

    /// Smallest brain profile (relative size) on which a lesion may lie, so that it fits inside the brain.
    static let lesionProfileFloor: Float = 0.75
    /// Share of lesion-free patients.
    static let lesionFreeShare = 0.08
    /// Share of patients with two lesions.
    static let twoLesionShare = 0.2
    /// `realistic`: cumulative shares of patients with 0, 1, 2 lesions (the rest have 3).
    static let realisticLesionCountShares = [0.15, 0.55, 0.85]

    /// The phantom of patient `patient` (a valid index) of the dataset described by `options`.
    init(patient: Int, options: SyntheticDatasetOptions) {
        let n = options.uncheckedSliceCount(patient)
        let s = Float(options.size), scale = s / 256
        var g = options.generator(.anatomy, patient)
        let realistic = options.style == .realistic
        size = options.size
        sliceCount = n

        // `realistic` varies tilt, position and size more; the number of draws is the same in both styles.
        let tilt: Float = realistic ? 0.3 : 0.12, shift: Float = realistic ? 0.05 : 0.03
        let angle = g.uniform(-tilt, tilt)
        centerX = s * (0.5 + g.uniform(-shift, shift))
        centerY = s * (0.5 + g.uniform(-shift, shift))
        cosRotation = cos(angle)
        sinRotation = sin(angle)
        egg = g.uniform(0, 0.12)
        brainRadiusX = s * (realistic ? g.uniform(0.25, 0.31) : g.uniform(0.27, 0.31))
        brainRadiusY = s * (realistic ? g.uniform(0.30, 0.36) : g.uniform(0.34, 0.38))
        csfRim = scale * g.uniform(1.5, 3)
        skullThickness = scale * g.uniform(4, 7)
        scalpThickness = scale * g.uniform(4, 8)
        let profileCenter = g.uniform(0.46, 0.54), profileHalfBelow = g.uniform(0.58, 0.66)
        let profileHalfAbove = g.uniform(0.52, 0.58)
        self.profileCenter = profileCenter
        self.profileHalfBelow = profileHalfBelow
        self.profileHalfAbove = profileHalfAbove
        cortexThickness = scale * g.uniform(3, 4.5)
        sulcusDepth = scale * g.uniform(14, 22)
        sulcusHalfWidth = scale * g.uniform(0.5, 1.1)
        skullWobble = scale * g.uniform(0.5, 1.5)
        ventricleCenter = profileCenter + g.uniform(-0.04, 0.04)
        ventricleHalfExtent = g.uniform(0.14, 0.2)
        ventricleSize = g.uniform(0.7, 1.4)
        nucleiCenter = ventricleCenter - g.uniform(0.12, 0.16)
        nucleiHalfExtent = g.uniform(0.08, 0.12)

        func jitter(_ v: SIMD4<Float>, _ r: Float) -> SIMD4<Float> {
            SIMD4(v.x * (1 + g.uniform(-r, r)), v.y * (1 + g.uniform(-r, r)), v.z * (1 + g.uniform(-r, r)), 0)
        }
        // `realistic`: T1-like pre- and post-contrast (white > grey > CSF, fat-bright scalp) and FLAIR (grey
        // a little above white, CSF suppressed), stronger bias and noise.
        let grey = jitter(realistic ? SIMD4(0.42, 0.50, 0.46, 0) : SIMD4(0.46, 0.44, 0.50, 0), 0.06)
        // Drawn in the first version's order: scalp, skull, CSF, then white matter.
        let scalp = jitter(realistic ? SIMD4(0.85, 0.55, 0.85, 0) : SIMD4(0.80, 0.60, 0.82, 0), 0.12)
        let skull = jitter(realistic ? SIMD4(0.05, 0.04, 0.06, 0) : SIMD4(0.10, 0.07, 0.12, 0), 0.3)
        let csf = jitter(realistic ? SIMD4(0.09, 0.06, 0.11, 0) : SIMD4(0.14, 0.09, 0.17, 0), 0.2)
        let white = jitter(realistic ? SIMD4(0.64, 0.40, 0.63, 0) : SIMD4(0.64, 0.35, 0.66, 0), 0.06)
        contrasts = Contrasts(scalp: scalp, skull: skull, csf: csf, grey: grey, white: white)
        gain = SIMD4(g.uniform(0.8, 1.15), g.uniform(0.8, 1.15), g.uniform(0.8, 1.15), 0) * 255
        textureAmplitude = realistic ? g.uniform(0.05, 0.09) : g.uniform(0.04, 0.08)
        biasAmplitude = realistic ? g.uniform(0.12, 0.25) : g.uniform(0.04, 0.12)
        noiseSigma = realistic ? g.uniform(0.02, 0.04) : g.uniform(0.012, 0.035)

        // Depth of the noise lattices in slices: slices are about 150/n mm apart, pixels about 0.8/scale mm.
        let slicesPerPixel = 0.8 / scale * Float(n) / 150
        func field(_ cell: Float, _ octaves: Int) -> ValueNoise {
            ValueNoise(seed: g.next(), cellSize: cell * scale, cellDepth: max(0.5, cell * scale * slicesPerPixel),
                       octaves: octaves)
        }
        boundaryNoise = field(40, 2)
        foldNoise = field(18, 2)
        sulcusNoise = field(16, 2)
        textureNoise = field(10, 3)
        biasNoise = field(128, 1)

        // Lesions: how many, how many slices they cover together, then each one's place and shape.
        var lesions: [Lesion] = []
        let target = options.lesionSliceFraction
        let u = g.unitDouble()
        let count = target == 0 ? 0 : realistic ? Self.realisticLesionCountShares.filter { u >= $0 }.count
            : u < Self.lesionFreeShare ? 0 : (u < Self.lesionFreeShare + Self.twoLesionShare ? 2 : 1)
        let freeShare = realistic ? Self.realisticLesionCountShares[0] : Self.lesionFreeShare
        let usable = (0..<n).filter { Self.profile(Self.position($0, n), profileCenter, profileHalfBelow,
                                                   profileHalfAbove) >= Self.lesionProfileFloor }
        if count > 0, let first = usable.first, let last = usable.last, last > first {
            // Patients with lesions cover target/(1 − lesion-free share) of their slices on average; two
            // lesions overlap now and then, which the boost makes up for.
            let perPatient = target / (1 - freeShare) * (count >= 2 ? 1.25 : 1)
            let total = Int((perPatient * Double(n) * Double(g.uniform(0.5, 1.5))).rounded())
            let split = count == 2 ? Double(g.uniform(0.35, 0.65)) : 1
            for k in 0..<count {
                // `realistic`: the first lesion takes the whole run, the others overlap it at shorter lengths.
                let share = realistic ? (k == 0 ? 1 : Double(g.uniform(0.3, 0.7))) : (k == 0 ? split : 1 - split)
                let length = min(max(2, Int((Double(total) * share).rounded())), last - first + 1)
                let start = first + g.integer(below: last - first + 2 - length)
                let lesion = Self.makeLesion(slices: start...(start + length - 1), area: k == 0 ? 1 : 0.6,
                                             brainX: brainRadiusX, brainY: brainRadiusY,
                                             cosRotation: cosRotation, sinRotation: sinRotation,
                                             centerX: centerX, centerY: centerY, egg: egg,
                                             grey: grey, white: realistic ? white : nil, scale: scale,
                                             slicesPerPixel: slicesPerPixel, g: &g)
                lesions.append(lesion)
                if realistic { lesions += Self.lobes(of: lesion, slicesPerPixel: slicesPerPixel, g: &g) }
            }
        }
        self.lesions = lesions
        lesionCount = lesions.isEmpty ? 0 : count
    }

    /// `realistic`: 1–3 smaller lobes around `lesion` on parts of its slice run, with its contrast and rim,
    /// so that together they make one lumpy lesion.
    private static func lobes(of lesion: Lesion, slicesPerPixel: Float, g: inout RandomGenerator) -> [Lesion] {
        let meanRadius = (lesion.radiusP * lesion.radiusQ).squareRoot()
        return (0..<(1 + g.integer(below: 3))).map { _ in
            var lobe = lesion
            let direction = g.uniform(0, 2 * Float.pi), distance = meanRadius * g.uniform(0.4, 0.85)
            lobe.centerX += distance * cos(direction)
            lobe.centerY += distance * sin(direction)
            lobe.radiusP *= g.uniform(0.4, 0.75)
            lobe.radiusQ *= g.uniform(0.4, 0.75)
            let angle = g.uniform(0, Float.pi)
            (lobe.cosAngle, lobe.sinAngle) = (cos(angle), sin(angle))
            let length = max(2, Int((Float(lesion.slices.count) * g.uniform(0.5, 1)).rounded()))
            let start = lesion.slices.lowerBound + g.integer(below: max(1, lesion.slices.count - length + 1))
            lobe.slices = start...min(lesion.slices.upperBound, start + length - 1)
            lobe.intensity.y *= g.uniform(0.92, 1.08)
            let cell = max(2, meanRadius * 0.5)
            lobe.noise = ValueNoise(seed: g.next(), cellSize: cell, cellDepth: max(1, cell * slicesPerPixel), octaves: 2)
            return lobe
        }
    }

    /// Draws one lesion on `slices`: size (1…6 % of the slice area at its widest, times `area`), shape,
    /// contrast, and a centre inside one hemisphere. With `white` (the `realistic` style) the contrast is
    /// drawn against white matter (sometimes faint on FLAIR, variable on the others, a rim now and then) and
    /// the centre is often next to the ventricles or just under the cortex.
    private static func makeLesion(slices: ClosedRange<Int>, area: Float, brainX: Float, brainY: Float,
                                   cosRotation: Float, sinRotation: Float, centerX: Float, centerY: Float,
                                   egg: Float, grey: SIMD4<Float>, white: SIMD4<Float>?, scale: Float,
                                   slicesPerPixel: Float, g: inout RandomGenerator) -> Lesion {
        let fraction = area * exp(g.uniform(log(0.01), log(0.06)))
        var meanRadius = (fraction / Float.pi).squareRoot() * scale * 256
        let aspect = g.uniform(0.7, 1.4).squareRoot()
        let roughness = white == nil ? g.uniform(0.2, 0.4) : g.uniform(0.25, 0.5)
        // At most half the smaller brain semi-axis on the smallest slice the lesion may lie on.
        let smallest = min(brainX, brainY) * lesionProfileFloor / (1 + egg)
        meanRadius = min(meanRadius, 0.5 * smallest / max(aspect, 1 / aspect))
        let radiusP = meanRadius * aspect, radiusQ = meanRadius / aspect
        let extent = max(radiusP, radiusQ) * (1 + roughness)
        let drift = 0.2 * meanRadius
        // Centre: uniform over an ellipse at 75 % of the brain's semi-axes on its smallest slice (less the
        // drift), so it stays well inside the brain, and off the midline by most of the blob, so that the
        // lesion keeps to one hemisphere; the blob may reach the brain surface, where the brain clips it.
        let reachX = 0.75 * brainX * lesionProfileFloor * (1 - egg) - drift
        let reachY = 0.75 * brainY * lesionProfileFloor * (1 - egg) - drift
        let offMidline = min(max(0.1 * reachX, 0.8 * extent + drift), 0.9 * reachX)
        let side: Float = g.unitDouble() < 0.5 ? -1 : 1
        var u = side * offMidline, v: Float = 0
        let place = white == nil ? 1 : g.unitDouble()
        if place < 0.35 {
            // Beside the lateral ventricles: as near the midline as the hemisphere allows.
            u = side * min(offMidline * g.uniform(1, 1.15), 0.9 * reachX)
            v = reachY * g.uniform(-0.3, 0.2)
        } else if place < 0.65 {
            // Under the cortex: on the ellipse at 90 % of the brain's smallest semi-axes, off the midline.
            let phi = g.uniform(-1.2, 1.2) + (side < 0 ? Float.pi : 0)
            let outerX = 0.9 * brainX * lesionProfileFloor * (1 - egg), outerY = 0.9 * brainY * lesionProfileFloor
            u = cos(phi) * outerX
            v = sin(phi) * outerY
            if abs(u) < offMidline { u = side * offMidline }
        } else {
            for _ in 0..<32 {
                let a = g.uniform(-1, 1), b = g.uniform(-1, 1)
                if a * a + b * b <= 1 && abs(a * reachX) >= offMidline {
                    u = a * reachX
                    v = b * reachY
                    break
                }
            }
            // Mostly frontal, as lower-grade gliomas are: the front half (v < 0, away from the egg's wide back)
            // three times out of four.
            if white != nil && v > 0 && g.unitDouble() < 0.5 { v = -v }
        }
        let angle = g.uniform(0, Float.pi), driftAngle = g.uniform(0, 2 * Float.pi)
        let flair = g.uniform(0.58, 0.84)
        let enhancement: Float = g.unitDouble() < 0.25 ? g.uniform(0.05, 0.2) : 0
        let cell = max(2, meanRadius * 0.7)
        // Drawn before the contrast, as in the first version; `realistic` margins are blurrier.
        let edgeWidth = scale * (white == nil ? g.uniform(1.2, 3.2) : g.uniform(1.5, 5))
        var intensity = SIMD4(grey.x * g.uniform(0.8, 0.92), flair, grey.z * g.uniform(0.82, 0.94) + enhancement, 0)
        var heterogeneity = g.uniform(0.08, 0.2), rim = SIMD4<Float>.zero
        if let white {
            // FLAIR above white matter: faint (+0.05…0.12) in a quarter of the lesions, clear (+0.15…0.4)
            // otherwise; pre- and post-contrast anywhere from a little above grey matter to near white.
            let faint = g.unitDouble() < 0.25
            intensity = SIMD4(white.x * g.uniform(0.62, 0.95), white.y + (faint ? g.uniform(0.05, 0.12) : g.uniform(0.15, 0.4)),
                              white.z * g.uniform(0.62, 0.98) + enhancement, 0)
            heterogeneity = g.uniform(0.15, 0.35)
            if g.unitDouble() < 0.3 { rim = SIMD4(0, g.uniform(0.05, 0.15), g.uniform(0.1, 0.3), 0) }
        }
        return Lesion(
            slices: slices,
            centerX: centerX + cosRotation * u - sinRotation * v,
            centerY: centerY + sinRotation * u + cosRotation * v,
            driftX: drift * cos(driftAngle), driftY: drift * sin(driftAngle),
            radiusP: radiusP, radiusQ: radiusQ, cosAngle: cos(angle), sinAngle: sin(angle),
            roughness: roughness, edgeWidth: edgeWidth,
            intensity: intensity, heterogeneity: heterogeneity, rim: rim,
            noise: ValueNoise(seed: g.next(), cellSize: cell, cellDepth: max(1, cell * slicesPerPixel), octaves: 2))
    }

    /// Position of slice `k` of `n` along the axis, 0…1 (slice centres).
    static func position(_ k: Int, _ n: Int) -> Float { (Float(k) + 0.5) / Float(n) }

    /// Relative brain size at axial position `t`: a half-ellipse profile, 1 at `center`, smaller towards
    /// the first (below) and last (above) slices.
    static func profile(_ t: Float, _ center: Float, _ halfBelow: Float, _ halfAbove: Float) -> Float {
        let r = (t - center) / (t < center ? halfBelow : halfAbove)
        return max(0, 1 - r * r).squareRoot()
    }

    /// Relative brain size on slice `k`, at least 0.15.
    func profile(slice k: Int) -> Float {
        max(0.15, Self.profile(Self.position(k, sliceCount), profileCenter, profileHalfBelow, profileHalfAbove))
    }
}

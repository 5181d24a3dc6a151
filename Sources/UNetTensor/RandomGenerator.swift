#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// The library's one random number generator: SplitMix64 (Steele, Lea & Flood, 2014).
///
/// The n-th output is `mix64(seed + n·γ)` with γ = 0x9E3779B97F4A7C15, so any position can be computed
/// directly: a buffer is filled in parallel with the same numbers as serially, whatever the thread count.
/// Floats take the top 24 bits of an output (uniform on [0, 1) in steps of 2⁻²⁴); normals use Box–Muller
/// on two consecutive outputs. Independent streams for (seed, epoch, index) come from `derived(_:)`.
public struct RandomGenerator: Sendable, Equatable {
    /// The key of this stream.
    public private(set) var seed: UInt64
    /// How many 64-bit outputs have been drawn.
    public private(set) var position: UInt64

    /// SplitMix64's increment, the golden ratio in 64 bits.
    @usableFromInline static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// A generator at the start of the stream for `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        self.position = 0
    }

    /// A generator resumed at a saved `position` of the stream for `seed`.
    public init(seed: UInt64, position: UInt64) {
        self.seed = seed
        self.position = position
    }

    /// SplitMix64's output function (a bijective 64-bit mixer).
    @inlinable @inline(__always)
    public static func mix64(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The output at absolute stream position `n`.
    @inlinable @inline(__always)
    static func output(seed: UInt64, at n: UInt64) -> UInt64 { mix64(seed &+ (n &+ 1) &* gamma) }

    /// A uniform float in [0, 1) from a 64-bit output.
    @inlinable @inline(__always)
    static func unitFloat(_ bits: UInt64) -> Float { Float(bits >> 40) * 0x1p-24 }

    /// An independent generator keyed by this stream's seed and `keys` (e.g. `[epoch, index]`).
    public func derived(_ keys: UInt64...) -> RandomGenerator {
        var s = RandomGenerator.mix64(seed ^ 0x5851_F42D_4C95_7F2D)
        for k in keys { s = RandomGenerator.mix64(s ^ RandomGenerator.mix64(k &+ RandomGenerator.gamma)) }
        return RandomGenerator(seed: s)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        defer { position &+= 1 }
        return Self.output(seed: seed, at: position)
    }

    /// A uniform float in [low, high).
    public mutating func uniform(_ low: Float = 0, _ high: Float = 1) -> Float {
        low + (high - low) * Self.unitFloat(next())
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func unitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform integer in 0..<bound (0 when bound ≤ 1).
    public mutating func integer(below bound: Int) -> Int {
        guard bound > 1 else { _ = next(); return 0 }
        return min(Int(unitDouble() * Double(bound)), bound - 1)
    }

    /// Fills `buffer` with uniform floats in [low, high), in parallel; advances by `buffer.count`.
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, low: Float, high: Float) {
        guard let base = buffer.baseAddress else { return }
        let seed = self.seed, start = position, span = high - low
        Parallel.forEachChunk(buffer.count) { lo, hi in
            for i in lo..<hi {
                base[i] = low + span * Self.unitFloat(Self.output(seed: seed, at: start &+ UInt64(i)))
            }
        }
        position &+= UInt64(buffer.count)
    }

    /// Fills `buffer` with normal floats N(mean, std²) by Box–Muller; advances by `buffer.count`.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float) {
        for i in buffer.indices {
            let u1 = max(unitDouble(), 0x1p-53), u2 = unitDouble()
            let r = (-2 * log(u1)).squareRoot()
            buffer[i] = mean + std * Float(r * cos(2 * Double.pi * u2))
        }
    }
}

/// The process-wide generator that `manualSeed` seeds; library code takes streams from it.
public let defaultGenerator = Locked(RandomGenerator(seed: 0x2545_F491_4F6C_DD1D))

/// Seeds the default generator (PyTorch's `torch.manual_seed`).
public func manualSeed(_ seed: UInt64) {
    defaultGenerator.withLock { $0 = RandomGenerator(seed: seed) }
}

#if canImport(Glibc)
import Glibc
#endif

// The hot elementwise functions as types. `mapped` and `zipped` over a kernel type are specialised for it,
// so the function is inlined into the loop and vectorised; over a closure they call it once per element
// through a pointer, several times slower. Each kernel computes exactly what its closure form did, so
// results are bit for bit the same.

/// A function of one element.
protocol UnaryKernel {
    /// The result for element `x`.
    func callAsFunction(_ x: Float) -> Float
}

/// A function of two elements at the same index.
protocol BinaryKernel {
    /// The result for elements `a` and `b`.
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// max(x, 0), NaN kept (relu's forward).
struct ReLUKernel: UnaryKernel {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 || x.isNaN ? x : 0 }
}

/// The gradient `g` where relu's output (or, equally, its input) `x` was positive, else 0 (relu's backward).
struct ReLUGradientKernel: BinaryKernel {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
}

/// 1 / (1 + e^−x).
struct SigmoidKernel: UnaryKernel {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}

/// g · y · (1 − y) for the sigmoid's output y (its backward).
struct SigmoidGradientKernel: BinaryKernel {
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) }
}

/// x · s.
struct ScaleKernel: UnaryKernel {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * s }
}

/// a + b.
struct SumKernel: BinaryKernel {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
}

/// a − b.
struct DifferenceKernel: BinaryKernel {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
}

/// a · b.
struct ProductKernel: BinaryKernel {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}

/// a / b.
struct QuotientKernel: BinaryKernel {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
}

extension Tensor {
    /// A new tensor with `kernel` applied to every element (parallel over chunks).
    func mapped<K: UnaryKernel>(_ kernel: K) -> Tensor {
        let out = Tensor(uncheckedUninitialized: shape)
        let x = storage.pointer, y = out.storage.pointer
        Parallel.forEachChunk(count) { lo, hi in for i in lo..<hi { y[i] = kernel(x[i]) } }
        return out
    }

    /// Applies `kernel` to every element in place (parallel over chunks). Only for a result no one else
    /// has seen yet.
    func updateInPlace<K: UnaryKernel>(_ kernel: K) {
        let x = storage.pointer
        Parallel.forEachChunk(count) { lo, hi in for i in lo..<hi { x[i] = kernel(x[i]) } }
    }

    /// A new tensor with `kernel(self[i], other[i])`; shapes must have the same element count.
    func zipped<K: BinaryKernel>(_ other: Tensor, _ kernel: K) -> Tensor {
        assert(count == other.count)
        let out = Tensor(uncheckedUninitialized: shape)
        let a = storage.pointer, b = other.storage.pointer, y = out.storage.pointer
        Parallel.forEachChunk(count) { lo, hi in for i in lo..<hi { y[i] = kernel(a[i], b[i]) } }
        return out
    }
}

// Elementwise arithmetic: + − × ÷ between tensors of the same shape, and with a scalar on either side.
// Each op computes its forward and records, right below, the backward that sends gradient to its inputs.

import _UNetSupport

// MARK: - Kernels

extension Tensor {
    /// A new tensor with `f` applied to every element (parallel over chunks).
    @inline(__always)
    func mapped(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uncheckedZeros: shape)
        let x = storage.pointer, y = out.storage.pointer
        Parallel.forEachChunk(count) { lo, hi in for i in lo..<hi { y[i] = f(x[i]) } }
        return out
    }

    /// A new tensor with `f(self[i], other[i])`; shapes must have the same element count.
    @inline(__always)
    func zipped(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        assert(count == other.count)
        let out = Tensor(uncheckedZeros: shape)
        let a = storage.pointer, b = other.storage.pointer, y = out.storage.pointer
        Parallel.forEachChunk(count) { lo, hi in for i in lo..<hi { y[i] = f(a[i], b[i]) } }
        return out
    }

    /// `self += scale · other` elementwise (same element count); used for gradient accumulation.
    func addInPlace(_ other: Tensor, scale: Float = 1) {
        assert(count == other.count)
        let a = storage.pointer, b = other.storage.pointer
        Parallel.forEachChunk(count) { lo, hi in for i in lo..<hi { a[i] += scale * b[i] } }
    }

    /// Throws unless `other` has this tensor's shape.
    func requireSameShape(_ other: Tensor, _ op: String) throws(UnetsegError) {
        try checkArgument(shape == other.shape,
                    "\(op): shapes \(Shape.describe(shape)) and \(Shape.describe(other.shape)) differ")
    }
}

// MARK: - Tensor ∘ tensor

extension Tensor {
    /// Elementwise sum of two tensors of the same shape.
    public static func + (a: Tensor, b: Tensor) throws(UnetsegError) -> Tensor {
        try a.requireSameShape(b, "add")
        let out = a.zipped(b, SumKernel())
        Autograd.record(out, inputs: [a, b]) { g in [g, g] }
        return out
    }

    /// Elementwise difference of two tensors of the same shape.
    public static func - (a: Tensor, b: Tensor) throws(UnetsegError) -> Tensor {
        try a.requireSameShape(b, "sub")
        let out = a.zipped(b, DifferenceKernel())
        Autograd.record(out, inputs: [a, b]) { g in [g, g.mapped { -$0 }] }
        return out
    }

    /// Elementwise product of two tensors of the same shape.
    public static func * (a: Tensor, b: Tensor) throws(UnetsegError) -> Tensor {
        try a.requireSameShape(b, "mul")
        let out = a.zipped(b, ProductKernel())
        Autograd.record(out, inputs: [a, b]) { g in
            [a.requiresGrad ? g.zipped(b, ProductKernel()) : nil, b.requiresGrad ? g.zipped(a, ProductKernel()) : nil]
        }
        return out
    }

    /// Elementwise quotient of two tensors of the same shape.
    public static func / (a: Tensor, b: Tensor) throws(UnetsegError) -> Tensor {
        try a.requireSameShape(b, "div")
        let out = a.zipped(b, QuotientKernel())
        let quotient = out.detached()  // not `out` itself: its node must not keep it alive
        Autograd.record(out, inputs: [a, b]) { g in
            let gOverB = g.zipped(b, QuotientKernel())
            return [gOverB, b.requiresGrad ? gOverB.zipped(quotient, { -$0 * $1 }) : nil]
        }
        return out
    }
}

// MARK: - Tensor ∘ scalar, scalar ∘ tensor

extension Tensor {
    /// Adds `s` to every element.
    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = a.mapped { $0 + s }
        Autograd.record(out, inputs: [a]) { g in [g] }
        return out
    }

    /// Adds `s` to every element.
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }

    /// Subtracts `s` from every element.
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }

    /// `s − x` for every element (as in the post's `1 - dice`).
    public static func - (s: Float, a: Tensor) -> Tensor {
        let out = a.mapped { s - $0 }
        Autograd.record(out, inputs: [a]) { g in [g.mapped { -$0 }] }
        return out
    }

    /// Multiplies every element by `s`.
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = a.mapped(ScaleKernel(s: s))
        Autograd.record(out, inputs: [a]) { g in [g.mapped(ScaleKernel(s: s))] }
        return out
    }

    /// Multiplies every element by `s`.
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }

    /// Divides every element by `s`.
    public static func / (a: Tensor, s: Float) -> Tensor {
        let out = a.mapped { $0 / s }
        Autograd.record(out, inputs: [a]) { g in [g.mapped { $0 / s }] }
        return out
    }

    /// `s / x` for every element.
    public static func / (s: Float, a: Tensor) -> Tensor {
        let out = a.mapped { s / $0 }
        Autograd.record(out, inputs: [a]) { g in [g.zipped(a) { g, x in -g * s / (x * x) }] }
        return out
    }

    /// Negates every element.
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }
}

// Reductions to a scalar: sum and mean of all elements (accumulated in double, in parallel).

extension Tensor {
    /// Sum of all elements, accumulated in double precision over per-thread partial sums.
    func sumOfElements() -> Double {
        let x = storage.pointer
        let workers = max(1, min(Parallel.threadCount, count / 32_768))
        var partial = [Double](repeating: 0, count: workers)
        partial.withUnsafeMutableBufferPointer { partial in
            guard let out = partial.baseAddress else { return }
            Parallel.forEachWorker(maxWorkers: workers) { w, n in
                let lo = count * w / n, hi = count * (w + 1) / n
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                var i = lo
                while i + 4 <= hi {
                    s0 += Double(x[i]); s1 += Double(x[i + 1]); s2 += Double(x[i + 2]); s3 += Double(x[i + 3])
                    i += 4
                }
                while i < hi { s0 += Double(x[i]); i += 1 }
                out[w] = (s0 + s1) + (s2 + s3)
            }
        }
        return partial.reduce(0, +)
    }

    /// The sum of all elements, as a 0-dimensional tensor.
    public func sum() -> Tensor {
        let out = Tensor(scalar: Float(sumOfElements()))
        let inputShape = shape
        Autograd.record(out, inputs: [self]) { g in [Tensor(uncheckedFull: inputShape, g.storage.pointer[0])] }
        return out
    }

    /// The mean of all elements, as a 0-dimensional tensor (NaN for an empty tensor, as PyTorch).
    public func mean() -> Tensor {
        let n = count
        let out = Tensor(scalar: Float(sumOfElements() / Double(n)))
        let inputShape = shape
        Autograd.record(out, inputs: [self]) { g in
            [Tensor(uncheckedFull: inputShape, g.storage.pointer[0] / Float(n))]
        }
        return out
    }
}

extension Tensor {
    /// Whether any element is NaN or ±infinity.
    public var containsNonFinite: Bool {
        let x = storage.pointer
        for i in 0..<count where !x[i].isFinite { return true }
        return false
    }
}

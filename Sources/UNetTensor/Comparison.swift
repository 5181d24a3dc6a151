// Comparisons: not differentiable; results are 0/1 float tensors without a graph.

import _UNetSupport

extension Tensor {
    /// 1 where x > s, else 0 (e.g. `prediction > 0.5` for a binary mask).
    public static func > (a: Tensor, s: Float) -> Tensor { a.mapped { $0 > s ? 1 : 0 } }

    /// 1 where a > b elementwise, else 0; shapes must match.
    public static func > (a: Tensor, b: Tensor) throws(UnetsegError) -> Tensor {
        try a.requireSameShape(b, "gt")
        return a.zipped(b) { $0 > $1 ? 1 : 0 }
    }
}

// Stacking equal-shaped tensors into a new leading dimension (batches from items). Not differentiable.

import _UNetSupport

extension Tensor {
    /// `[K, …shape]` from K tensors of the same shape (copies; records no graph).
    public static func stack(_ tensors: [Tensor]) throws(UnetsegError) -> Tensor {
        guard let first = tensors.first else { throw .invalidArgument("stack: no tensors") }
        for t in tensors {
            try checkArgument(t.shape == first.shape, "stack: shapes \(Shape.describe(first.shape)) and \(Shape.describe(t.shape)) differ")
        }
        let out = try Tensor.zeros([tensors.count] + first.shape)
        for (k, t) in tensors.enumerated() {
            (out.storage.pointer + k * first.count).update(from: t.storage.pointer, count: first.count)
        }
        return out
    }
}
